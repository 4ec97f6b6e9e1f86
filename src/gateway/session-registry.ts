// The live sessions of this instance: attaches a RealtimeSession to every admitted socket, frees its
// slot when it closes, and ends them all (1001 `server_shutdown`) when the application shuts down.
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type WebSocket from 'ws';
import type { Clock } from '../common/clock.js';
import { RESOLVED_OPTIONS, type ResolvedRealtimeSessionsOptions } from '../common/module-settings.js';
import { CloseCode } from '../errors/close-codes.js';
import { RealtimeLog } from '../logging/realtime-log.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { ErrorCode } from '../errors/error-codes.js';
import { ProviderRegistry } from '../providers/provider-registry.js';
import { ModelCatalogue } from '../session-config/model-catalogue.js';
import { RealtimeSession, type RealtimeSessionDeps } from './realtime-session.js';
import { SESSION_CLOCK } from './session-clock.js';
import { SessionEventsHook } from './session-events.js';
import { TicketAdmission, type Admission } from './ticket-admission.js';

const SHUTDOWN_GRACE_MS = 1500;

@Injectable()
export class SessionRegistry implements OnModuleDestroy {
  private readonly logger = new Logger(SessionRegistry.name);
  private readonly sessions = new Set<RealtimeSession>();
  private readonly closedWaiters = new Set<() => void>();
  private readonly deps: Omit<RealtimeSessionDeps, 'onClosed'>;
  private shuttingDown = false;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedRealtimeSessionsOptions,
    catalogue: ModelCatalogue,
    providers: ProviderRegistry,
    events: SessionEventsHook,
    private readonly admissions: TicketAdmission,
    @Inject(SESSION_CLOCK) clock: Clock,
    metrics: RealtimeMetrics,
  ) {
    this.deps = {
      limits: options.limits,
      models: { catalogue, hasProvider: (modelId) => providers.forModel(modelId) !== undefined },
      providers,
      events,
      logger: this.logger,
      clock,
      metrics,
      log: new RealtimeLog(),
    };
  }

  /** Live sessions on this instance. */
  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Serves an upgraded socket. The admission's slot is now this session's to free. */
  attach(ws: WebSocket, admission: Admission): RealtimeSession {
    const session = new RealtimeSession(ws, admission, {
      ...this.deps,
      onClosed: (s) => {
        this.sessions.delete(s);
        this.admissions.release(admission);
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
    } else if (this.shuttingDown) {
      // Admitted while the application was closing: it would outlive the shutdown.
      session.end(ErrorCode.ServerShutdown, 'The server is shutting down', CloseCode.GoingAway);
    }
    return session;
  }

  /** Ends every session with `server_shutdown` (1001) and waits briefly for the close handshakes. */
  async onModuleDestroy(): Promise<void> {
    this.shuttingDown = true;
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
