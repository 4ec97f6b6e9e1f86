// What the rest of the module reads once options are resolved: the settings, their DI token, the
// session limits and their defaults, the fixed paths. Below every feature folder, so any of them can
// read settings without importing the module's root files.

/** DI token of the ResolvedRealtimeSessionsOptions. */
export const RESOLVED_OPTIONS = Symbol('REALTIME_SESSIONS_RESOLVED_OPTIONS');

export interface SessionLimits {
  /** No `session.start` within this → `session_not_started`, close 1008. */
  startTimeoutSeconds: number;
  /** No client frame for this long → `idle_timeout`, close 1000. */
  idleTimeoutSeconds: number;
  /** A session lasts at most this long → `max_duration_reached`, close 1000. */
  maxSessionSeconds: number;
  /** Largest client frame accepted → else `frame_too_big`, close 1009. */
  maxFrameBytes: number;
  /** Live sessions one project may hold → else `session_limit_reached`, close 1013. */
  maxSessionsPerProject: number;
  /** Send-buffer size past which reading from the other side pauses. */
  highWaterMarkBytes: number;
  /** A peer that stays over the mark this long is terminated (`slow_consumer`). */
  slowConsumerSeconds: number;
  /** Mints one API key may make per second, per instance (see `redis.sharedRateLimits`) → else 429 `rate_limited` with `Retry-After`. */
  mintsPerKeyPerSecond: number;
  /** Upgrade attempts on /v3/realtime one client IP may make per second, per instance → else 429 `rate_limited`. */
  upgradesPerIpPerSecond: number;
  /** Minted, not yet redeemed, unexpired tickets one project may hold → else 429 `too_many_outstanding_tickets`. */
  maxOutstandingTicketsPerProject: number;
  /**
   * Replace the upstream this long before the model's `sessionLimitSeconds` (at the earliest
   * halfway through it): gateway/upstream-rotation.ts.
   */
  rotationMarginSeconds: number;
  /**
   * How long a session whose client socket dropped (not a close 1000) waits for a resume
   * (`opper-resume.<token>`); 0 turns client resume off. gateway/session-resume.ts.
   */
  resumeGraceSeconds: number;
  /** Events produced while the client is away, at most (bytes): past it → `resume_buffer_overflow`. */
  resumeBufferBytes: number;
}

export const DEFAULT_LIMITS: SessionLimits = {
  startTimeoutSeconds: 10,
  idleTimeoutSeconds: 5 * 60,
  maxSessionSeconds: 30 * 60,
  maxFrameBytes: 8 * 1024 * 1024,
  maxSessionsPerProject: 100,
  highWaterMarkBytes: 1024 * 1024,
  slowConsumerSeconds: 10,
  // Abuse limits: generous, so that a real backend (or a load test) never meets them by accident.
  mintsPerKeyPerSecond: 1000,
  upgradesPerIpPerSecond: 1000,
  maxOutstandingTicketsPerProject: 100_000,
  rotationMarginSeconds: 60,
  resumeGraceSeconds: 15,
  resumeBufferBytes: 4 * 1024 * 1024,
};

export const DEFAULT_TICKET_TTL_SECONDS = 60;
export const MIN_TICKET_TTL_SECONDS = 1;
export const MAX_TICKET_TTL_SECONDS = 300;
export const REALTIME_SESSIONS_PATH = '/v3/realtime-sessions';
export const REALTIME_SOCKET_PATH = '/v3/realtime';
/** How long live sessions may continue once a drain starts (module option `drainTimeoutMs`). */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** Options after defaults: what the rest of the module reads. */
export interface ResolvedRealtimeSessionsOptions {
  ticketsEnabled: boolean;
  publicUrl: string | undefined;
  formatAllErrors: boolean;
  limits: SessionLimits;
  /** Canonical origins an upgrade's Origin header must be one of; undefined = any. */
  allowedOrigins: string[] | undefined;
  /** This instance's name in the live-session list. */
  instanceId: string;
  /** How long live sessions may continue after a drain starts before they get `server_shutdown`. */
  drainTimeoutMs: number;
}
