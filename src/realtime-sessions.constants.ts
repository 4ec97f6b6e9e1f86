// DI tokens that are not classes.
export const RESOLVED_OPTIONS = Symbol('REALTIME_SESSIONS_RESOLVED_OPTIONS');
