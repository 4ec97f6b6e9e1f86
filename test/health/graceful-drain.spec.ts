// installGracefulDrain with a stand-in signal source: the first SIGTERM drains (DrainState set),
// waits for live sessions up to the timeout, ends the rest, closes and exits 0; it ends early when
// the sessions are gone; a second SIGTERM exits at once.
import { EventEmitter } from 'node:events';
import { describe, expect, it, jest } from '@jest/globals';
import { DrainState, installGracefulDrain } from '../../src/health/index.js';

const silent = { log() {}, warn() {}, error() {} };

function setup(live: { count: number }, drainTimeoutMs: number) {
  const emitter = new EventEmitter();
  const drain = new DrainState();
  const calls: string[] = [];
  const exit = jest.fn((code: number) => void calls.push(`exit ${code}`));
  const handle = installGracefulDrain({
    drain,
    drainTimeoutMs,
    liveSessions: () => live.count,
    terminateRemaining: () => {
      calls.push(`terminate ${live.count}`);
      live.count = 0;
    },
    close: async () => void calls.push('close'),
    exit,
    emitter,
    pollMs: 10,
    logger: silent,
  });
  return { emitter, drain, calls, exit, handle };
}

describe('installGracefulDrain', () => {
  it('drains, waits for the timeout, ends the remaining sessions, closes, exits 0', async () => {
    const live = { count: 2 };
    const { emitter, drain, calls, handle } = setup(live, 150);
    const started = Date.now();
    emitter.emit('SIGTERM', 'SIGTERM');
    expect(drain.isDraining).toBe(true);
    await handle.finished;
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(calls).toEqual(['terminate 2', 'close', 'exit 0']);
    handle.uninstall();
  });

  it('ends early once the last session is gone, without terminating anything', async () => {
    const live = { count: 1 };
    const { emitter, calls, handle } = setup(live, 10_000);
    emitter.emit('SIGTERM', 'SIGTERM');
    setTimeout(() => (live.count = 0), 50);
    const started = Date.now();
    await handle.finished;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(calls).toEqual(['close', 'exit 0']);
    handle.uninstall();
  });

  it('a second SIGTERM exits at once', async () => {
    const live = { count: 1 };
    const { emitter, exit, handle } = setup(live, 10_000);
    emitter.emit('SIGTERM', 'SIGTERM');
    emitter.emit('SIGTERM', 'SIGTERM');
    expect(exit).toHaveBeenCalledWith(1);
    live.count = 0;
    await handle.finished;
    handle.uninstall();
    expect(emitter.listenerCount('SIGTERM')).toBe(0);
  });
});
