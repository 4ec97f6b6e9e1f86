// The DI token of the Clock sessions read (start/idle/max-duration deadlines, slow-consumer and
// close-grace timers). The module binds it to the `clock` option, else the system clock; tests
// pass their own to drive time instead of sleeping.
export type { Clock } from '../common/clock.js';
export { systemClock } from '../common/clock.js';

export const SESSION_CLOCK = Symbol('REALTIME_SESSION_CLOCK');
