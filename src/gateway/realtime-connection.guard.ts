// Redemption at the upgrade (PROTOCOL.md §2). Runs inside ws's verifyClient, before any 101, so a
// refused client gets a real HTTP 401/503 with the error JSON. Credential precedence: bearer runtime
// key, then `opper-ticket.<secret>` subprotocol, then `?ticket=`.
import type { IncomingMessage } from 'node:http';
import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { ApiKeyAuthenticator } from '../auth/api-key.authenticator.js';
import { ApiKeyVerifier } from '../auth/api-key-verifier.js';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeApiError } from '../errors/realtime-api.error.js';
import { ticketIdOf } from '../tickets/ticket-secret.js';
import type { TicketRecord } from '../tickets/ticket.record.js';
import { TicketRepository } from '../tickets/ticket.repository.js';
import type { Admission } from './admission.js';

export const TICKET_PROTOCOL_PREFIX = 'opper-ticket.';
export const MARKER_PROTOCOL = 'opper-realtime.v1';

/** The offered subprotocols, in order, as ws parses them (comma-separated tokens). */
export function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  if (typeof header !== 'string') return [];
  return header.split(',').map((p) => p.trim()).filter(Boolean);
}

function ticketFromQuery(url: string | undefined): string | undefined {
  const q = url?.indexOf('?') ?? -1;
  if (!url || q < 0) return undefined;
  return new URLSearchParams(url.slice(q + 1)).get('ticket') || undefined;
}

@Injectable()
export class RealtimeConnectionGuard {
  private readonly logger = new Logger(RealtimeConnectionGuard.name);

  constructor(
    private readonly authenticator: ApiKeyAuthenticator,
    private readonly verifier: ApiKeyVerifier,
    private readonly tickets: TicketRepository,
  ) {}

  /** Resolves who may open this socket, or throws a RealtimeApiError (401 / 503). */
  async admit(req: IncomingMessage): Promise<Admission> {
    if (req.headers.authorization !== undefined) {
      const identity = await this.authenticator.authenticate(req.headers.authorization);
      return { projectId: identity.projectId, keyId: identity.keyId, credential: 'api_key' };
    }
    const offeredTicketProtocol = offeredProtocols(req).find((p) => p.startsWith(TICKET_PROTOCOL_PREFIX));
    const secret = offeredTicketProtocol ? offeredTicketProtocol.slice(TICKET_PROTOCOL_PREFIX.length) : ticketFromQuery(req.url);
    if (!secret) {
      throw new RealtimeApiError(
        HttpStatus.UNAUTHORIZED,
        ErrorCode.MissingCredentials,
        'No credential: send a ticket as the "opper-ticket.<client_secret>" subprotocol or ?ticket=, or a bearer runtime key',
      );
    }
    const ticket = await this.redeem(secret);
    return { projectId: ticket.projectId, keyId: ticket.keyId, credential: 'ticket', ticket, offeredTicketProtocol };
  }

  /** Consumes the ticket atomically: exactly one upgrade wins, replays get 401. */
  private async redeem(secret: string): Promise<TicketRecord> {
    let ticket: TicketRecord | null;
    try {
      ticket = await this.tickets.consume(ticketIdOf(secret));
    } catch (err) {
      this.logger.error(`Ticket store failed on consume: ${(err as Error)?.message ?? String(err)}`);
      throw new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.TicketStoreUnavailable, 'The ticket store is unavailable; try again later');
    }
    if (!ticket) {
      throw new RealtimeApiError(HttpStatus.UNAUTHORIZED, ErrorCode.InvalidTicket, 'Invalid ticket: unknown, expired or already used');
    }
    let active: boolean;
    try {
      active = await this.verifier.isKeyActive(ticket.keyId);
    } catch (err) {
      this.logger.error(`API-key verifier failed: ${(err as Error)?.message ?? String(err)}`);
      throw new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.AuthUnavailable, 'API keys cannot be verified right now; try again later');
    }
    if (!active) {
      throw new RealtimeApiError(HttpStatus.UNAUTHORIZED, ErrorCode.KeyRevoked, 'The API key that minted this ticket was revoked');
    }
    return ticket;
  }

  /**
   * The subprotocol the 101 selects: the marker when offered (the secret is then not echoed), else
   * the ticket entry exactly as offered, else none. Never a protocol the client did not offer.
   */
  selectProtocol(offered: ReadonlySet<string>, admission: Admission | undefined): string | false {
    if (offered.has(MARKER_PROTOCOL)) return MARKER_PROTOCOL;
    const entry = admission?.offeredTicketProtocol;
    if (entry && offered.has(entry)) return entry;
    return false;
  }
}
