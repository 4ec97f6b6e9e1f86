// Client resume across instances (issue 14, README "Client resume"): when a resume lands on an
// instance that does not run the session, the instance that does gives the session up and this is
// what travels between them (as JSON, through the live-session directory): who the session
// belongs to, the config in force (bound fields included), the conversation as text, the
// provider's resumption handle where it has one, the events buffered while the client was away,
// and the running totals that the one session-ended hook call reports. The new instance opens a
// fresh upstream with it (gateway/upstream-rotation.ts `continueRotatingUpstream`); the old one
// closes its upstream without calling the hook.
import type { ConversationTurn } from '../providers/realtime-provider.js';
import type { SessionConfig } from '../session-config/session-config.js';
import type { TicketRecord } from '../tickets/ticket.record.js';
import type { SessionStartedEvent } from './session-events.js';

/** What the rotating upstream carries over to a fresh connection. */
export interface UpstreamCarry {
  config: SessionConfig;
  history: ConversationTurn[];
  resumptionHandle?: string;
  /** A response was under way when the upstream was closed: the client gets its `response.completed`. */
  responseActive: boolean;
}

export interface CarriedSession extends UpstreamCarry {
  version: 1;
  sessionId: string;
  projectId: string;
  keyId: string;
  credential: 'ticket' | 'api_key';
  ticket?: TicketRecord;
  requestId?: string;
  model: string;
  provider: string;
  /** Epoch ms: when the socket was first accepted (max duration) and when `session.started` was sent. */
  openedAt: number;
  startedAt: number;
  bytesIn: number;
  bytesOut: number;
  usage?: Record<string, unknown>;
  /** Events produced while no client socket was attached, as sent, oldest first. */
  buffered: string[];
}

/** The session-started event the hook was given on the instance the session started on. */
export function startedEventOf(carried: CarriedSession): SessionStartedEvent {
  return {
    sessionId: carried.sessionId,
    projectId: carried.projectId,
    keyId: carried.keyId,
    model: carried.model,
    provider: carried.provider,
    credential: carried.credential,
    startedAt: new Date(carried.startedAt),
    ...(carried.ticket?.publicId ? { ticketId: carried.ticket.publicId } : {}),
    ...(carried.ticket?.metadata ? { metadata: carried.ticket.metadata } : {}),
  };
}

export function serializeCarried(session: CarriedSession): string {
  return JSON.stringify(session);
}

/** The carried session, or undefined for anything that is not one (another version included). */
export function parseCarried(data: string): CarriedSession | undefined {
  try {
    const parsed = JSON.parse(data) as CarriedSession;
    if (parsed?.version !== 1 || typeof parsed.sessionId !== 'string' || typeof parsed.model !== 'string' || !Array.isArray(parsed.buffered)) return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}
