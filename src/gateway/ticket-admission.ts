// Who may open a socket on /v3/realtime (docs/protocol.md §2), decided once, before any 101:
// the deployment's allowed origins → credential (bearer runtime key, then `opper-ticket.<secret>`
// subprotocol, then `?ticket=`) → atomic redemption, from an origin the ticket allows (a wrong
// origin leaves the ticket unspent) → the minting key still active → a per-project slot lease.
// The lease id is the session's one id: the same `sess_…` in the limiter, `session.started`, the events hook and logs.
import type { IncomingMessage } from 'node:http';
import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { ApiKeyAuthenticator } from '../auth/api-key.authenticator.js';
import { ApiKeyVerifier } from '../auth/api-key-verifier.js';
import { canonicalOrigin } from '../common/origin.js';
import { RandomPool } from '../common/random-pool.js';
import { RESOLVED_OPTIONS, type ResolvedRealtimeSessionsOptions } from '../common/module-settings.js';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeApiError } from '../errors/realtime-api.error.js';
import { ticketIdOf } from '../tickets/ticket-secret.js';
import type { TicketRecord } from '../tickets/ticket.record.js';
import { ORIGIN_NOT_ALLOWED, TicketRepository } from '../tickets/ticket.repository.js';
import { SessionLimiter } from './session-limiter.js';
import { offeredProtocols, TICKET_PROTOCOL_PREFIX, ticketProtocolOf } from './subprotocols.js';

/** An admitted connection: everything its session needs to know about who opened it. */
export interface Admission {
  /** The session's one id (`sess_…`), also the id of its slot lease. */
  readonly sessionId: string;
  readonly projectId: string;
  readonly keyId: string;
  readonly credential: 'ticket' | 'api_key';
  /** Present for ticket sessions: what the overlay enforces. Bearer sessions have no overlay. */
  readonly ticket?: TicketRecord;
  /**
   * The project is at its limit and no slot was taken. The socket is still accepted so that
   * browsers can read why (`session_limit_reached`, close 1013).
   */
  readonly overLimit: boolean;
}

const sessionIds = new RandomPool(16, 256);

function newSessionId(): string {
  return `sess_${sessionIds.draw('hex')}`;
}

function originNotAllowed(): RealtimeApiError {
  return new RealtimeApiError(HttpStatus.FORBIDDEN, ErrorCode.OriginNotAllowed, 'This page\'s origin is not allowed to open this session');
}

/** The upgrade's Origin header, canonical; undefined when absent; null when present but not an origin (e.g. `null`). */
function originOf(req: IncomingMessage): string | undefined | null {
  const header = req.headers.origin;
  if (header === undefined) return undefined;
  return canonicalOrigin(header) ?? null;
}

function ticketFromQuery(url: string | undefined): string | undefined {
  const q = url?.indexOf('?') ?? -1;
  if (!url || q < 0) return undefined;
  return new URLSearchParams(url.slice(q + 1)).get('ticket') || undefined;
}

@Injectable()
export class TicketAdmission {
  private readonly logger = new Logger(TicketAdmission.name);

  constructor(
    private readonly authenticator: ApiKeyAuthenticator,
    private readonly verifier: ApiKeyVerifier,
    private readonly tickets: TicketRepository,
    private readonly limiter: SessionLimiter,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedRealtimeSessionsOptions,
  ) {}

  /** Resolves the admission, or throws a RealtimeApiError (401 / 503) to answer before any 101. */
  async admit(req: IncomingMessage): Promise<Admission> {
    const identity = await this.identify(req);
    const sessionId = newSessionId();
    return { ...identity, sessionId, overLimit: !(await this.lease(identity.projectId, sessionId)) };
  }

  /** Frees the slot of an admission (a no-op for one over the limit, which holds none). */
  release(admission: Admission): void {
    if (admission.overLimit) return;
    this.limiter.release(admission.projectId, admission.sessionId).catch((err: Error) => {
      this.logger.warn(`Session ${admission.sessionId}: limiter release failed: ${err?.message}`);
    });
  }

  /**
   * The deployment's allowed origins (option `allowedOrigins`), checked before any credential is
   * looked at, so nothing is spent: a ticket, and a resume token alike. Returns the Origin.
   */
  checkDeploymentOrigin(req: IncomingMessage): string | undefined | null {
    const origin = originOf(req);
    const allowed = this.options.allowedOrigins;
    if (allowed && origin !== undefined && (origin === null || !allowed.includes(origin))) throw originNotAllowed();
    return origin;
  }

  private async identify(req: IncomingMessage): Promise<Omit<Admission, 'sessionId' | 'overLimit'>> {
    const origin = this.checkDeploymentOrigin(req);
    if (req.headers.authorization !== undefined) {
      const identity = await this.authenticator.authenticate(req.headers.authorization);
      return { projectId: identity.projectId, keyId: identity.keyId, credential: 'api_key' };
    }
    const protocol = ticketProtocolOf(offeredProtocols(req));
    const secret = protocol ? protocol.slice(TICKET_PROTOCOL_PREFIX.length) : ticketFromQuery(req.url);
    if (!secret) {
      throw new RealtimeApiError(
        HttpStatus.UNAUTHORIZED,
        ErrorCode.MissingCredentials,
        'No credential: send a ticket as the "opper-ticket.<client_secret>" subprotocol or ?ticket=, or a bearer runtime key',
      );
    }
    const ticket = await this.redeem(secret, origin ?? undefined);
    return { projectId: ticket.projectId, keyId: ticket.keyId, credential: 'ticket', ticket };
  }

  /**
   * Consumes the ticket atomically: exactly one upgrade wins, replays get 401. A ticket bound to
   * origins is taken only from one of them; from any other it stays unspent and the upgrade gets 403.
   */
  private async redeem(secret: string, origin: string | undefined): Promise<TicketRecord> {
    let ticket: TicketRecord | null | typeof ORIGIN_NOT_ALLOWED;
    try {
      ticket = await this.tickets.consumeFrom(ticketIdOf(secret), origin);
    } catch (err) {
      this.logger.error(`Ticket store failed on consume: ${(err as Error)?.message ?? String(err)}`);
      throw new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.TicketStoreUnavailable, 'The ticket store is unavailable; try again later');
    }
    if (ticket === ORIGIN_NOT_ALLOWED) throw originNotAllowed();
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

  /** Takes a per-project slot under the session's id; false at the limit, a 503 when the store is down. */
  private async lease(projectId: string, sessionId: string): Promise<boolean> {
    try {
      return await this.limiter.acquire(projectId, sessionId, this.options.limits.maxSessionsPerProject);
    } catch (err) {
      this.logger.error(`Session limiter failed: ${(err as Error)?.message}`);
      throw new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.SessionStoreUnavailable, 'Session capacity cannot be checked right now; try again later');
    }
  }
}
