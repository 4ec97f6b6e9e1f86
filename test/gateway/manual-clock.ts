// A Clock that moves only when a test says so: session deadlines and slow-consumer timers fire on
// `advance`, while sockets, HTTP and the test's own waits keep real time.
import type { Clock } from '../../src/index.js';

interface Pending {
  at: number;
  callback: () => void;
}

export class ManualClock implements Clock {
  private time = Date.parse('2026-01-01T00:00:00Z');
  private readonly pending = new Set<Pending>();

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): NodeJS.Timeout {
    const timer: Pending = { at: this.time + Math.max(0, ms), callback };
    this.pending.add(timer);
    // The handle is only ever given back to clearTimeout below; Clock types it as Node's.
    return timer as unknown as NodeJS.Timeout;
  }

  clearTimeout(timer: NodeJS.Timeout | undefined): void {
    this.pending.delete(timer as unknown as Pending);
  }

  /** Moves time forward, firing every timer that falls due, in order (timers they set included). */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const timer of this.pending) if (timer.at <= until && (!next || timer.at < next.at)) next = timer;
      if (!next) break;
      this.pending.delete(next);
      this.time = Math.max(this.time, next.at);
      next.callback();
    }
    this.time = until;
  }

  /** Timers armed and not yet fired or cleared. */
  get armed(): number {
    return this.pending.size;
  }
}
