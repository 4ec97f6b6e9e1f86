// The live sessions of this instance: attaches a RealtimeSession to every admitted socket, frees its
// slot when it closes, and ends them all (1001 `server_shutdown`) when the application shuts down.
// Started sessions are listed in the live-session directory (so a backend can see them on any
// instance), and a termination the directory delivers ends the session with `terminated_by_backend`.
// During a drain (DrainState) live sessions continue until the drain timeout, then the rest are
// ended the same way. Client resume: tokens are kept in the directory; a resume whose session runs on
// another instance takes it over (`claimResume` asks the owner through the directory, whose
// `handOver` here gives a session up; session-handover.ts).
import { Inject, Injectable, Logger, Optional, type OnModuleDestroy } from '@nestjs/common';
import type WebSocket from 'ws';
import type { Clock } from '../common/clock.js';
import { RESOLVED_OPTIONS, type ResolvedRealtimeSessionsOptions } from '../common/module-settings.js';
import { CloseCode } from '../errors/close-codes.js';
import { RealtimeLog } from '../logging/realtime-log.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { ErrorCode } from '../errors/error-codes.js';
import { DrainState } from '../health/drain-state.js';
import { ProviderRegistry } from '../providers/provider-registry.js';
import { LiveSessionDirectory, type LiveSession } from '../live-sessions/live-session-directory.js';
import { ModelCatalogue } from '../session-config/model-catalogue.js';
import { RealtimeSession, type RealtimeSessionDeps } from './realtime-session.js';
import { SESSION_CLOCK } from './session-clock.js';
import { parseCarried, serializeCarried, startedEventOf, type CarriedSession } from './session-handover.js';
import { SessionReporter } from './session-reporting.js';
import { ResumeTokens } from './session-resume.js';
import { SessionEventsHook } from './session-events.js';
import { TicketAdmission, type Admission } from './ticket-admission.js';

const SHUTDOWN_GRACE_MS = 1500;
/** How long a resume waits for the instance running its session to hand it over. */
export const HANDOVER_TIMEOUT_MS = 5000;

/** A resume token's session: live on this instance, or handed over by another one. */
export type ClaimedResume = { local: RealtimeSession } | { carried: CarriedSession };

@Injectable()
export class SessionRegistry implements OnModuleDestroy {
  private readonly logger = new Logger(SessionRegistry.name);
  private readonly sessions = new Set<RealtimeSession>();
  /** Started sessions by id, for terminations. */
  private readonly byId = new Map<string, RealtimeSession>();
  private readonly closedWaiters = new Set<() => void>();
  /** Client resume (session-resume.ts): this instance's live tokens. */
  private readonly resumeTokens: ResumeTokens<RealtimeSession>;
  /** Sessions handed over to another instance, until their slot and live entry are released. */
  private readonly releasing = new Map<RealtimeSession, Promise<unknown>>();
  private readonly deps: Omit<RealtimeSessionDeps, 'onClosed'>;
  /** Set once every session was told to end (shutdown, or the drain deadline): late arrivals end at once. */
  private terminating = false;
  private drainTimer: NodeJS.Timeout | undefined;
  private readonly unsubscribeDrain: (() => void) | undefined;
  private resolveDrained!: () => void;
  private readonly drainDone = new Promise<void>((resolve) => (this.resolveDrained = resolve));

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedRealtimeSessionsOptions,
    catalogue: ModelCatalogue,
    providers: ProviderRegistry,
    events: SessionEventsHook,
    private readonly admissions: TicketAdmission,
    @Inject(SESSION_CLOCK) clock: Clock,
    private readonly directory: LiveSessionDirectory,
    metrics: RealtimeMetrics,
    @Optional() private readonly drain?: DrainState,
  ) {
    directory.onTermination((projectId, sessionId) => this.terminate(projectId, sessionId));
    directory.onHandOver((projectId, sessionId) => this.handOver(projectId, sessionId));
    // A token is good while its session lives: at most the longest session plus its grace window.
    const tokenTtlMs = (options.limits.maxSessionSeconds + options.limits.resumeGraceSeconds) * 1000;
    this.resumeTokens = new ResumeTokens(directory, options.instanceId, tokenTtlMs, this.logger);
    this.deps = {
      limits: options.limits,
      models: { catalogue, hasProvider: (modelId) => providers.forModel(modelId) !== undefined },
      providers,
      logger: this.logger,
      clock,
      metrics,
      reporter: new SessionReporter(metrics, events, new RealtimeLog(), this.logger),
      ...(options.limits.resumeGraceSeconds > 0 ? { resume: { issueToken: (s: RealtimeSession) => this.resumeTokens.issue(s) } } : {}),
    };
    this.unsubscribeDrain = drain?.onDrain(() => this.onDrainStarted());
  }

  /** Live sessions on this instance. */
  get activeSessions(): number {
    return this.sessions.size;
  }

  /** Serves an upgraded socket. The admission's slot is now this session's to free. */
  attach(ws: WebSocket, admission: Admission): RealtimeSession {
    const session = new RealtimeSession(ws, admission, {
      ...this.deps,
      onStarted: (s, event) => {
        this.byId.set(s.id, s);
        const entry: LiveSession = {
          sessionId: event.sessionId,
          projectId: event.projectId,
          ...(event.ticketId ? { ticketId: event.ticketId } : {}),
          model: event.model,
          provider: event.provider,
          startedAt: event.startedAt.getTime(),
          ...(event.metadata ? { metadata: event.metadata } : {}),
          instance: this.options.instanceId,
        };
        this.directory.register(entry).catch((err: Error) => {
          this.logger.warn(`Session ${s.id}: could not be listed as live: ${err?.message}`);
        });
      },
      onClosed: (s) => {
        this.resumeTokens.revoke(s);
        this.sessions.delete(s);
        const released: Array<Promise<unknown>> = [this.admissions.release(admission)];
        if (this.byId.delete(s.id)) {
          released.push(
            this.directory.unregister(admission.projectId, s.id).catch((err: Error) => {
              this.logger.warn(`Session ${s.id}: live entry not removed (it lapses by itself): ${err?.message}`);
            }),
          );
        }
        // A handed-over session's new instance takes the slot once this one has let it go.
        if (s.handedOver) this.releasing.set(s, Promise.all(released));
        if (this.sessions.size === 0) this.onIdle();
      },
    });
    this.sessions.add(session);
    if (admission.overLimit) {
      session.end(
        ErrorCode.SessionLimitReached,
        `Project has reached its limit of ${this.options.limits.maxSessionsPerProject} concurrent sessions`,
        CloseCode.Overloaded,
      );
    } else if (this.terminating) {
      // Admitted while the sessions were being ended: it would outlive the shutdown.
      session.end(ErrorCode.ServerShutdown, 'The server is shutting down', CloseCode.GoingAway);
    }
    return session;
  }

  /**
   * The live session a resume token belongs to, spending the token (a replay gets nothing): this
   * instance's session, or the state of one another instance handed over. Undefined when the token
   * is unknown, spent, or its session is no longer live (or its instance did not answer within
   * HANDOVER_TIMEOUT_MS). Throws when the token store is down. A draining instance takes no
   * session over (`draining` is thrown before the token is spent).
   */
  async claimResume(token: string, whileDraining: () => never): Promise<ClaimedResume | undefined> {
    if (this.terminating) return undefined;
    const local = this.resumeTokens.isLocal(token);
    if (!local && this.drain?.isDraining) whileDraining();
    const target = await this.resumeTokens.take(token);
    if (!target) return undefined;
    if (target.instance === this.options.instanceId) {
      const session = this.byId.get(target.sessionId);
      return session?.currentState === 'active' && !this.terminating ? { local: session } : undefined;
    }
    const state = await this.directory.requestHandOver(target, HANDOVER_TIMEOUT_MS);
    const carried = state === undefined ? undefined : parseCarried(state);
    return carried && carried.sessionId === target.sessionId ? { carried } : undefined;
  }

  /** Serves a resumed socket with a session another instance handed over (its slot already adopted). */
  adopt(ws: WebSocket, carried: CarriedSession, admission: Admission): RealtimeSession | undefined {
    if (this.terminating) {
      // Shutting down since the hand-over began: the session ends here, reported once.
      this.lost(carried, admission);
      ws.close(CloseCode.GoingAway);
      return undefined;
    }
    const session = this.attach(ws, admission);
    session.continueFrom(carried);
    return session;
  }

  /**
   * A session handed over to this instance that cannot be served (the resumed socket died before
   * its 101, or its slot could not be taken): it ends here and now, reported once to the hook.
   */
  lost(carried: CarriedSession, admission?: Admission): void {
    if (admission) void this.admissions.release(admission);
    this.logger.warn(`Session ${carried.sessionId}: handed over but its resumed socket could not be served; ended`);
    this.deps.reporter.ended({
      started: startedEventOf(carried),
      requestId: carried.requestId,
      sessionId: carried.sessionId,
      projectId: carried.projectId,
      keyId: carried.keyId,
      openedAt: carried.openedAt,
      endedAt: this.deps.clock.now(),
      bytesIn: carried.bytesIn,
      bytesOut: carried.bytesOut,
      endReason: 'client_closed',
      closeCode: 1006, // the socket went away without a close frame
      usage: carried.usage,
    });
  }

  /** Another instance's resume asks for this session: give it up once its slot and entry are released. */
  private async handOver(projectId: string, sessionId: string): Promise<string | undefined> {
    const session = this.byId.get(sessionId);
    if (!session || session.projectId !== projectId) return undefined;
    const carried = this.terminating ? undefined : session.handOver();
    if (!carried) return '';
    await this.releasing.get(session);
    this.releasing.delete(session);
    return serializeCarried(carried);
  }

  /** A backend asked to end this session (docs: DELETE /v3/realtime-sessions/live/{id}): 1000 `terminated_by_backend`. */
  private terminate(projectId: string, sessionId: string): void {
    const session = this.byId.get(sessionId);
    if (!session || session.startedEvent?.projectId !== projectId) return;
    session.end(ErrorCode.TerminatedByBackend, 'The session was ended by the application backend', CloseCode.Normal);
  }

  /**
   * Ends every live session now with `session.terminating` `server_shutdown` and close 1001, and
   * waits briefly for the close handshakes. Sessions admitted afterwards end at once too. Used at
   * the drain deadline (`installGracefulDrain`'s `terminateRemaining`) and on module destroy.
   */
  async terminateAll(): Promise<void> {
    this.terminating = true;
    if (this.sessions.size === 0) return;
    const allClosed = new Promise<void>((resolve) => this.closedWaiters.add(resolve));
    for (const session of [...this.sessions]) {
      session.end(ErrorCode.ServerShutdown, 'The server is shutting down', CloseCode.GoingAway);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allClosed, new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS)))]);
    clearTimeout(timer);
  }

  /**
   * Resolves once a drain is over: the last session ended, or the drain deadline passed and the
   * rest were ended. (Pending until a drain starts.)
   */
  drained(): Promise<void> {
    return this.drainDone;
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribeDrain?.();
    clearTimeout(this.drainTimer);
    await this.terminateAll();
    this.resolveDrained();
  }

  private onDrainStarted(): void {
    this.logger.log(`Draining: ${this.sessions.size} live session(s) may continue for up to ${this.options.drainTimeoutMs} ms`);
    if (this.sessions.size === 0) return this.resolveDrained();
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined;
      if (this.sessions.size > 0) this.logger.log(`Drain deadline: ending ${this.sessions.size} live session(s) with server_shutdown`);
      void this.terminateAll().then(this.resolveDrained);
    }, this.options.drainTimeoutMs);
    // The deadline alone must not keep a process alive that has nothing else to do.
    this.drainTimer.unref();
  }

  private onIdle(): void {
    const waiters = [...this.closedWaiters];
    this.closedWaiters.clear();
    for (const done of waiters) done();
    if (this.drain?.isDraining) {
      clearTimeout(this.drainTimer);
      this.resolveDrained();
    }
  }
}
