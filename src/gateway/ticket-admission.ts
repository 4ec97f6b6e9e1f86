// Who may open a socket on /v3/realtime (docs/protocol.md §2), decided once, before any 101:
// the deployment's allowed origins → credential (bearer runtime key, then `opper-ticket.<secret>`
// subprotocol, then `?ticket=`) → atomic redemption, from an origin the ticket allows (a wrong
// origin leaves the ticket unspent) → the minting key still active → a per-project slot lease.
// With the module's own Redis stores on one Redis or Sentinel, the redemption and the lease are one
// script, one round trip (redis-redemption.ts), and the key is checked after it (a revoked key's
// lease is given back); otherwise, two round trips in the order above.
// The lease id is the session's one id: the same `sess_…` in the limiter, `session.started`, the events hook and logs.
import type { IncomingMessage } from 'node:http';
import { HttpStatus, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { ApiKeyAuthenticator } from '../auth/api-key.authenticator.js';
import { ApiKeyVerifier } from '../auth/api-key-verifier.js';
import { canonicalOrigin } from '../common/origin.js';
import { RandomPool } from '../common/random-pool.js';
import { RESOLVED_OPTIONS, type ResolvedRealtimeSessionsOptions } from '../common/module-settings.js';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeApiError } from '../errors/realtime-api.error.js';
import { DrainState } from '../health/drain-state.js';
import { RealtimeLog } from '../logging/realtime-log.js';
import { requestIdOf } from '../logging/request-id.js';
import type { RedemptionOutcome } from '../metrics/metric-labels.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { ticketIdOf } from '../tickets/ticket-secret.js';
import type { TicketRecord } from '../tickets/ticket.record.js';
import { TicketRepository, type TicketRedemption } from '../tickets/ticket.repository.js';
import { RedisRedemption, type LeasedRedemption } from './redis-redemption.js';
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
  /** The upgrade request's id (`x-request-id`, or a new one): in the redemption and session-end log lines. */
  readonly requestId?: string;
}

/** What an admission found out, for its metric and log line (filled in as it goes). */
interface AdmissionTrail {
  outcome?: RedemptionOutcome;
  projectId?: string;
  keyId?: string;
  credential?: 'ticket' | 'api_key';
  waitedSeconds?: number;
}

/** The outcome an admission refused with, from its error code (ticket refusals are told apart where they happen). */
const OUTCOME_OF_CODE: Partial<Record<string, RedemptionOutcome>> = {
  [ErrorCode.MissingCredentials]: 'missing_credentials',
  [ErrorCode.TicketStoreUnavailable]: 'store_unavailable',
  [ErrorCode.SessionStoreUnavailable]: 'store_unavailable',
  [ErrorCode.AuthUnavailable]: 'auth_unavailable',
  [ErrorCode.KeyRevoked]: 'key_revoked',
  [ErrorCode.ServerDraining]: 'server_draining',
  [ErrorCode.OriginNotAllowed]: 'origin_not_allowed',
};

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
  private readonly log = new RealtimeLog();
  /** Redemption and lease in one round trip, when the stores allow it. */
  private readonly oneTrip: RedisRedemption | undefined;

  constructor(
    private readonly authenticator: ApiKeyAuthenticator,
    private readonly verifier: ApiKeyVerifier,
    private readonly tickets: TicketRepository,
    private readonly limiter: SessionLimiter,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedRealtimeSessionsOptions,
    private readonly metrics: RealtimeMetrics,
    @Optional() private readonly drain?: DrainState,
  ) {
    this.oneTrip = RedisRedemption.for(tickets, limiter);
  }

  /**
   * Resolves the admission, or throws a RealtimeApiError (401 / 503) to answer before any 101.
   * Every outcome is counted and logged once (one line, no credential in it).
   */
  async admit(req: IncomingMessage): Promise<Admission> {
    const requestId = requestIdOf(req.headers);
    const trail: AdmissionTrail = {};
    try {
      this.assertNotDraining();
      const sessionId = newSessionId();
      const { leased, ...identity } = await this.identify(req, trail, sessionId);
      Object.assign(trail, { projectId: identity.projectId, keyId: identity.keyId, credential: identity.credential });
      const overLimit = !(leased ?? (await this.lease(identity.projectId, sessionId)));
      trail.outcome = overLimit ? 'limit_reached' : 'ok';
      return { ...identity, sessionId, overLimit, requestId };
    } catch (err) {
      const code = err instanceof RealtimeApiError ? err.code : undefined;
      // A refused bearer key: every 401 of the authenticator but a missing header.
      trail.outcome ??= code === undefined ? 'internal_error' : (OUTCOME_OF_CODE[code] ?? (trail.credential === 'api_key' ? 'invalid_api_key' : 'unknown'));
      throw err;
    } finally {
      this.record(requestId, trail);
    }
  }

  private record(requestId: string, trail: AdmissionTrail): void {
    const outcome = trail.outcome ?? 'unknown';
    try {
      this.metrics.redemption(outcome);
      if (outcome === 'ok' && trail.waitedSeconds !== undefined) this.metrics.mintToRedemption(trail.waitedSeconds);
      this.log.redemption({ requestId, outcome, projectId: trail.projectId, keyId: trail.keyId, credential: trail.credential, waitedSeconds: trail.waitedSeconds });
    } catch (err) {
      // A host logger that throws must not change who is admitted.
      this.logger.error(`Redemption log failed: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  /**
   * While draining, a new upgrade is refused before its credential is looked at, so the ticket is
   * not consumed and the client can redeem it on another instance (503 `server_draining`).
   */
  private assertNotDraining(): void {
    if (this.drain?.isDraining) {
      throw new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.ServerDraining, 'This instance is shutting down and takes no new sessions; retry');
    }
  }

  /** Frees the slot of an admission (a no-op for one over the limit, which holds none). Never rejects. */
  release(admission: Pick<Admission, 'projectId' | 'sessionId' | 'overLimit'>): Promise<void> {
    if (admission.overLimit) return Promise.resolve();
    return this.limiter.release(admission.projectId, admission.sessionId).catch((err: Error) => {
      this.logger.warn(`Session ${admission.sessionId}: limiter release failed: ${err?.message}`);
    });
  }

  /**
   * The admission of a session handed over from another instance (client resume there): it was
   * admitted once, so it takes its slot whatever the project's count (the old instance freed it
   * first). A 503 when the limiter's store is down.
   */
  async adopt(session: Pick<Admission, 'sessionId' | 'projectId' | 'keyId' | 'credential' | 'ticket' | 'requestId'>): Promise<Admission> {
    try {
      await this.limiter.acquire(session.projectId, session.sessionId, Number.MAX_SAFE_INTEGER);
    } catch (err) {
      this.logger.error(`Session limiter failed: ${(err as Error)?.message}`);
      throw new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.SessionStoreUnavailable, 'Session capacity cannot be checked right now; try again later');
    }
    return { ...session, overLimit: false };
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

  /** Who opened the socket; `leased` when the redemption took the session's lease already (one round trip). */
  private async identify(req: IncomingMessage, trail: AdmissionTrail, sessionId: string): Promise<Omit<Admission, 'sessionId' | 'overLimit'> & { leased?: boolean }> {
    const origin = this.checkDeploymentOrigin(req);
    if (req.headers.authorization !== undefined) {
      trail.credential = 'api_key';
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
    trail.credential = 'ticket';
    const { ticket, leased } = await this.redeem(secret, origin ?? undefined, trail, sessionId);
    return { projectId: ticket.projectId, keyId: ticket.keyId, credential: 'ticket', ticket, leased };
  }

  /**
   * Consumes the ticket atomically: exactly one upgrade wins, replays get 401. A ticket bound to
   * origins is taken only from one of them; from any other it stays unspent and the upgrade gets 403.
   */
  private async redeem(secret: string, origin: string | undefined, trail: AdmissionTrail, sessionId: string): Promise<{ ticket: TicketRecord; leased?: boolean }> {
    let redemption: TicketRedemption | LeasedRedemption;
    try {
      const id = ticketIdOf(secret);
      // A store given as a plain object (not extending TicketRepository) has no `redeem`: it gets
      // the default's behaviour (refusals all `unknown`, the origin checked after taking the ticket).
      redemption = this.oneTrip
        ? await this.oneTrip.redeem(id, origin, sessionId, this.options.limits.maxSessionsPerProject)
        : typeof this.tickets.redeem === 'function'
          ? await this.tickets.redeem(id, origin)
          : await TicketRepository.prototype.redeem.call(this.tickets, id, origin);
    } catch (err) {
      this.logger.error(`Ticket store failed on consume: ${(err as Error)?.message ?? String(err)}`);
      throw new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.TicketStoreUnavailable, 'The ticket store is unavailable; try again later');
    }
    if (!('ticket' in redemption)) {
      // Counted apart (a replay is an attack signal); answered alike, so nobody learns which it was.
      trail.outcome = redemption.refused;
      if (redemption.refused === 'origin_not_allowed') throw originNotAllowed();
      throw new RealtimeApiError(HttpStatus.UNAUTHORIZED, ErrorCode.InvalidTicket, 'Invalid ticket: unknown, expired or already used');
    }
    const ticket = redemption.ticket;
    const leased = 'leased' in redemption ? (redemption as { leased: boolean }).leased : undefined;
    Object.assign(trail, { projectId: ticket.projectId, keyId: ticket.keyId, waitedSeconds: (Date.now() - ticket.createdAt) / 1000 });
    let active: boolean;
    try {
      active = await this.verifier.isKeyActive(ticket.keyId);
    } catch (err) {
      this.logger.error(`API-key verifier failed: ${(err as Error)?.message ?? String(err)}`);
      if (leased) this.release({ projectId: ticket.projectId, sessionId, overLimit: false });
      throw new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.AuthUnavailable, 'API keys cannot be verified right now; try again later');
    }
    if (!active) {
      if (leased) this.release({ projectId: ticket.projectId, sessionId, overLimit: false });
      throw new RealtimeApiError(HttpStatus.UNAUTHORIZED, ErrorCode.KeyRevoked, 'The API key that minted this ticket was revoked');
    }
    return { ticket, leased };
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
