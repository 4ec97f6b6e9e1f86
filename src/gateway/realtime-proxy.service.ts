// Owns the live sessions: reserves a per-project slot at the upgrade, attaches a RealtimeSession to
// every accepted socket, and ends them all (1001) when the application shuts down.
import type { IncomingMessage } from 'node:http';
import { HttpStatus, Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type WebSocket from 'ws';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeApiError } from '../errors/realtime-api.error.js';
import { ProviderRegistry } from '../providers/provider-registry.js';
import { RESOLVED_OPTIONS, type ResolvedRealtimeSessionsOptions } from '../common/module-settings.js';
import { ModelCatalogue } from '../session-config/model-catalogue.js';
import type { Admission } from './admission.js';
import { CloseCode } from '../errors/close-codes.js';
import { newSessionId, RealtimeSession } from './realtime-session.js';
import { SessionEventsHook } from './session-events.js';
import { SessionLimiter } from './session-limiter.js';

/** An admission that holds (or was refused) a per-project slot. */
export interface ReservedAdmission extends Admission {
  slotId: string;
  overLimit: boolean;
  /** Frees the slot when the upgrade dies between verifyClient and the 101. */
  releaseIfUnclaimed?: () => void;
}

const claimed = new WeakSet<ReservedAdmission>();

const SHUTDOWN_GRACE_MS = 1500;

@Injectable()
export class RealtimeProxyService implements OnModuleDestroy {
  private readonly logger = new Logger(RealtimeProxyService.name);
  private readonly sessions = new Set<RealtimeSession>();
  private readonly closedWaiters = new Set<() => void>();

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedRealtimeSessionsOptions,
    private readonly catalogue: ModelCatalogue,
    private readonly providers: ProviderRegistry,
    private readonly events: SessionEventsHook,
    private readonly limiter: SessionLimiter,
  ) {}

  /** Live sessions on this instance. */
  get activeSessions(): number {
    return this.sessions.size;
  }

  /**
   * Takes a per-project slot before the 101. Over the limit, the socket is still accepted so that
   * browsers can read why (`session_limit_reached`, close 1013); a store failure is a 503.
   */
  async reserve(admission: Admission, req: IncomingMessage): Promise<ReservedAdmission> {
    const slotId = newSessionId();
    let acquired: boolean;
    try {
      acquired = await this.limiter.acquire(admission.projectId, slotId, this.options.limits.maxSessionsPerProject);
    } catch (err) {
      this.logger.error(`Session limiter failed: ${(err as Error)?.message}`);
      throw new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.SessionStoreUnavailable, 'Session capacity cannot be checked right now; try again later');
    }
    const reserved: ReservedAdmission = { ...admission, slotId, overLimit: !acquired };
    if (acquired) {
      // If the upgrade dies between verifyClient and the 101, no session will free the slot.
      const release = () => {
        if (!claimed.has(reserved)) this.release(reserved);
      };
      req.socket.once('close', release);
      reserved.releaseIfUnclaimed = release;
    }
    return reserved;
  }

  attach(ws: WebSocket, admission: ReservedAdmission, req: IncomingMessage): void {
    claimed.add(admission);
    if (admission.releaseIfUnclaimed) req.socket.off('close', admission.releaseIfUnclaimed);
    const session = new RealtimeSession(ws, admission, {
      limits: this.options.limits,
      catalogue: this.catalogue,
      providers: this.providers,
      events: this.events,
      logger: this.logger,
      onClosed: (s) => {
        this.sessions.delete(s);
        if (!admission.overLimit) this.release(admission);
        if (this.sessions.size === 0) for (const done of this.closedWaiters) done();
      },
    });
    this.sessions.add(session);
    if (admission.overLimit) {
      session.end(
        ErrorCode.SessionLimitReached,
        `Project has reached its limit of ${this.options.limits.maxSessionsPerProject} concurrent sessions`,
        CloseCode.Overloaded,
      );
    }
  }

  private release(admission: ReservedAdmission): void {
    this.limiter.release(admission.projectId, admission.slotId).catch((err: Error) => {
      this.logger.warn(`Session limiter release failed: ${err?.message}`);
    });
  }

  /** Ends every session with `server_shutdown` (1001) and waits briefly for the close handshakes. */
  async onModuleDestroy(): Promise<void> {
    if (this.sessions.size === 0) return;
    const allClosed = new Promise<void>((resolve) => this.closedWaiters.add(resolve));
    for (const session of this.sessions) {
      session.end(ErrorCode.ServerShutdown, 'The server is shutting down', CloseCode.GoingAway);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allClosed, new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS)))]);
    clearTimeout(timer);
  }
}

