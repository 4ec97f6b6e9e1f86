// The `Sec-WebSocket-Protocol` side of the upgrade (docs/protocol.md §2): how a ticket travels as a
// subprotocol, and which offered protocol the 101 selects. Pure functions of the request, so the
// choice needs nothing from admission: the entry selected is the entry admission read the secret from.
import type { IncomingMessage } from 'node:http';

export const TICKET_PROTOCOL_PREFIX = 'opper-ticket.';
export const MARKER_PROTOCOL = 'opper-realtime.v1';
/** `opper-resume.<resume_token>`: re-attach to a live session after a dropped socket (session-resume.ts). */
export const RESUME_PROTOCOL_PREFIX = 'opper-resume.';

/** The offered subprotocols, in order, as ws parses them (comma-separated tokens). */
export function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  if (typeof header !== 'string') return [];
  return header.split(',').map((p) => p.trim()).filter(Boolean);
}

/** The first `opper-ticket.<secret>` entry exactly as offered: the ticket credential. */
export function ticketProtocolOf(offered: Iterable<string>): string | undefined {
  for (const protocol of offered) if (protocol.startsWith(TICKET_PROTOCOL_PREFIX)) return protocol;
  return undefined;
}

/** The first `opper-resume.<token>` entry exactly as offered: the resume credential. */
export function resumeProtocolOf(offered: Iterable<string>): string | undefined {
  for (const protocol of offered) if (protocol.startsWith(RESUME_PROTOCOL_PREFIX)) return protocol;
  return undefined;
}

/**
 * ws's `handleProtocols`: the marker when offered (the secret is then not echoed); for a ticket
 * session without it, the ticket entry (else the resume entry) exactly as offered; else none. A bearer session's credential
 * is its header, so an offered ticket entry is not selected. Never a protocol the client did not offer.
 */
export function selectProtocol(offered: ReadonlySet<string>, req: IncomingMessage): string | false {
  if (offered.has(MARKER_PROTOCOL)) return MARKER_PROTOCOL;
  if (req.headers.authorization !== undefined) return false;
  return ticketProtocolOf(offered) ?? resumeProtocolOf(offered) ?? false;
}
