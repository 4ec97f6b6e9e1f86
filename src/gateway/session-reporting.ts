// What the outside learns of a session's life, in one place: the metrics (live gauge, duration,
// connect time and failures, field_locked, slow consumers), the host's events hook (started once,
// ended once) and the session-end log line. The session (realtime-session.ts) says what happened;
// this decides who hears of it, and keeps a throwing hook or logger from disturbing the session.
// The per-frame relay counters stay on the session's hot path (`RealtimeMetrics.relayed`).
import type { Logger } from '@nestjs/common';
import type { RealtimeLog } from '../logging/realtime-log.js';
import type { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import type { SessionEventsHook, SessionStartedEvent } from './session-events.js';

/** How a socket's session ended, for the hook (when it started) and the log line (always). */
export interface SessionEnding {
  /** Present once `session.started` was sent (here or on the instance that handed it over). */
  started: SessionStartedEvent | undefined;
  requestId: string | undefined;
  sessionId: string;
  projectId: string;
  keyId: string;
  /** Epoch ms the socket was accepted (the duration of a session that never started counts from it). */
  openedAt: number;
  endedAt: number;
  bytesIn: number;
  bytesOut: number;
  endReason: string;
  closeCode: number;
  usage: Record<string, unknown> | undefined;
}

export class SessionReporter {
  constructor(
    private readonly metrics: RealtimeMetrics,
    private readonly events: SessionEventsHook,
    private readonly log: RealtimeLog,
    private readonly logger: Logger,
  ) {}

  /** The upstream is ready (`session.started` is being sent): connect time, live gauge, hook. */
  started(started: SessionStartedEvent, connectSeconds: number): void {
    this.metrics.upstreamConnected(started.provider, connectSeconds);
    this.metrics.sessionOpened(started.provider, started.model);
    this.callHook(() => this.events.sessionStarted(started));
  }

  /** A session handed over from another instance is live here now (its start was reported there). */
  adopted(started: SessionStartedEvent): void {
    this.metrics.sessionOpened(started.provider, started.model);
  }

  /** This instance gave the session up to another one, which reports its end. */
  handedOver(started: SessionStartedEvent): void {
    this.metrics.sessionHandedOver(started.provider, started.model);
    this.logger.log?.(`Session ${started.sessionId}: handed over to another instance (client resume)`);
  }

  connectFailed(provider: string, code: string): void {
    this.metrics.upstreamConnectFailed(provider, code);
  }

  fieldLocked(field: string): void {
    this.metrics.fieldLocked(field);
  }

  slowConsumer(side: 'client' | 'upstream'): void {
    this.metrics.slowConsumer(side);
  }

  /** Once per socket: the duration metric and the hook for a started session, the end line for every one. */
  ended(ending: SessionEnding): void {
    const { started } = ending;
    if (started) {
      const durationMs = ending.endedAt - started.startedAt.getTime();
      this.metrics.sessionClosed(started.provider, started.model, ending.endReason, durationMs / 1000);
      this.callHook(() =>
        this.events.sessionEnded({
          ...started,
          endedAt: new Date(ending.endedAt),
          durationMs,
          bytesIn: ending.bytesIn,
          bytesOut: ending.bytesOut,
          endReason: ending.endReason,
          closeCode: ending.closeCode,
          ...(ending.usage ? { usage: ending.usage } : {}),
        }),
      );
    }
    try {
      this.log.sessionEnded({
        requestId: ending.requestId,
        sessionId: ending.sessionId,
        projectId: ending.projectId,
        keyId: ending.keyId,
        model: started?.model,
        provider: started?.provider,
        durationMs: ending.endedAt - (started?.startedAt.getTime() ?? ending.openedAt),
        bytesIn: ending.bytesIn,
        bytesOut: ending.bytesOut,
        endReason: ending.endReason,
        closeCode: ending.closeCode,
        usage: ending.usage,
      });
    } catch (err) {
      // A host logger that throws must not keep the slot from being freed.
      this.logger.error(`Session ${ending.sessionId}: session-end log failed: ${(err as Error)?.message}`);
    }
  }

  private callHook(call: () => void | Promise<void>): void {
    try {
      Promise.resolve(call()).catch((err: Error) => this.logger.error(`Session events hook failed: ${err?.message}`));
    } catch (err) {
      this.logger.error(`Session events hook failed: ${(err as Error)?.message}`);
    }
  }
}
