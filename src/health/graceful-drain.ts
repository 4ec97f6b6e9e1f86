// SIGTERM → drain → exit, with the pieces the gateway owns passed in. The first signal starts the
// drain (readiness 503, new upgrades and mints refused by whoever watches DrainState), waits until
// no session is live or the drain timeout passes, ends the sessions still live (session.terminating
// server_shutdown + close 1001, done by `terminateRemaining`), closes the app and exits 0. A second
// signal during the drain exits at once (code 1).
import { Logger, type LoggerService } from '@nestjs/common';
import type { DrainState } from './drain-state.js';

export interface GracefulDrainOptions {
  drain: DrainState;
  /** How long live sessions may continue (REALTIME_DRAIN_SECONDS × 1000; module option drainTimeoutMs). */
  drainTimeoutMs: number;
  /** Sessions live right now; the drain ends early once it reaches 0. */
  liveSessions: () => number;
  /** Ends the sessions still live at the deadline (session.terminating server_shutdown, close 1001). */
  terminateRemaining: () => void | Promise<void>;
  /** Closes the app (`() => app.close()`). */
  close: () => Promise<void>;
  /** Default `process.exit`. */
  exit?: (code: number) => void;
  /** Default `['SIGTERM']`. */
  signals?: readonly NodeJS.Signals[];
  /** Where signals come from (default `process`). */
  emitter?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
  /** How often `liveSessions` is polled (ms). Default 100. */
  pollMs?: number;
  logger?: LoggerService;
}

export interface GracefulDrainHandle {
  /** Resolves once a drain started by a signal has closed the app (before `exit`). */
  readonly finished: Promise<void>;
  /** Stops listening to the signals. */
  uninstall(): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** Waits until no session is live or `drainTimeoutMs` passed; resolves how many were still live. */
export async function waitForSessions(liveSessions: () => number, drainTimeoutMs: number, pollMs = 100): Promise<number> {
  const deadline = Date.now() + drainTimeoutMs;
  let live = liveSessions();
  while (live > 0 && Date.now() < deadline) {
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
    live = liveSessions();
  }
  return live;
}

export function installGracefulDrain(options: GracefulDrainOptions): GracefulDrainHandle {
  const emitter = options.emitter ?? process;
  const signals = options.signals ?? ['SIGTERM'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const logger = options.logger ?? new Logger('GracefulDrain');
  let running: Promise<void> | undefined;
  let resolveFinished!: () => void;
  const finished = new Promise<void>((resolve) => (resolveFinished = resolve));

  const run = async (signal: string): Promise<void> => {
    options.drain.startDrain();
    logger.log(`${signal}: draining; live sessions may continue for up to ${Math.round(options.drainTimeoutMs / 1000)} s (${signal} again ends at once)`);
    let code = 0;
    try {
      const remaining = await waitForSessions(options.liveSessions, options.drainTimeoutMs, options.pollMs);
      if (remaining > 0) {
        logger.log(`Drain deadline: ending ${remaining} live session(s) with server_shutdown`);
        await options.terminateRemaining();
      }
      await options.close();
    } catch (err) {
      code = 1;
      logger.error(`Drain failed: ${(err as Error)?.message ?? err}`);
    }
    resolveFinished();
    exit(code);
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (running) {
      logger.warn(`${signal} again: exiting now`);
      exit(1);
      return;
    }
    running = run(signal);
  };
  for (const signal of signals) emitter.on(signal, onSignal);
  return {
    finished,
    uninstall: () => {
      for (const signal of signals) emitter.off(signal, onSignal);
    },
  };
}
