// Time as the gateway reads it. Sessions take a Clock instead of calling Date.now()/setTimeout
// directly, so tests can drive timeouts with fake timers (or a clock of their own) instead of sleeping.

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(callback: () => void, ms: number): NodeJS.Timeout;
  clearTimeout(timer: NodeJS.Timeout | undefined): void;
}

/** The process clock. Looks the globals up at call time, so jest's fake timers replace it too. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer),
};
