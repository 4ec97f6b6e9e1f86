// Draining from a host app, which owns its process signals: start a drain and wait for it, or let
// SIGTERM do it as the standalone server does. While draining, /health/ready answers 503, new mints
// and upgrades get 503 `server_draining`, and live sessions continue for up to `drainTimeoutMs`;
// the rest then get `session.terminating` `server_shutdown` and close 1001.
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { RESOLVED_OPTIONS, type ResolvedRealtimeSessionsOptions } from './common/module-settings.js';
import { SessionRegistry } from './gateway/session-registry.js';
import { DrainState } from './health/drain-state.js';
import { installGracefulDrain, type GracefulDrainHandle, type GracefulDrainOptions } from './health/graceful-drain.js';

/**
 * Starts the drain (idempotent) and resolves once it is over: the last live session ended, or the
 * drain timeout passed and the rest were ended. Close the app afterwards (`await app.close()`).
 */
export async function drainRealtimeSessions(app: INestApplicationContext): Promise<void> {
  app.get(DrainState).startDrain();
  await app.get(SessionRegistry).drained();
}

export interface RealtimeDrainOptions extends Pick<GracefulDrainOptions, 'exit' | 'signals' | 'logger' | 'emitter'> {
  /** Default: the module's `drainTimeoutMs`. */
  drainTimeoutMs?: number;
}

/**
 * SIGTERM (by default) drains, then closes the app and exits 0; a second signal exits at once.
 * Call it instead of listing SIGTERM in `enableShutdownHooks`.
 */
export function installRealtimeDrain(app: INestApplication, options: RealtimeDrainOptions = {}): GracefulDrainHandle {
  const registry = app.get(SessionRegistry);
  const settings = app.get<ResolvedRealtimeSessionsOptions>(RESOLVED_OPTIONS);
  return installGracefulDrain({
    ...options,
    drain: app.get(DrainState),
    drainTimeoutMs: options.drainTimeoutMs ?? settings.drainTimeoutMs,
    liveSessions: () => registry.activeSessions,
    terminateRemaining: () => registry.terminateAll(),
    close: () => app.close(),
  });
}
