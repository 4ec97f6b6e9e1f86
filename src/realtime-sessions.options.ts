// Module options and their defaults, in one place. Everything a host app can configure.
import type { ApiKeyVerifier } from './auth/api-key-verifier.js';
import type { Clock } from './common/clock.js';
import type { StaticApiKey } from './auth/static-api-key.verifier.js';
import type { SessionEventsHook } from './gateway/session-events.js';
import type { SessionLimiter } from './gateway/session-limiter.js';
import type { ProviderOptions } from './providers/provider-options.js';
import type { RealtimeRedisConfig } from './redis/redis.options.js';
import type { TicketRepository } from './tickets/ticket.repository.js';
import type { RealtimeMetricsModuleOptions } from './metrics/metrics.module.js';
import { DEFAULT_LIMITS, type ResolvedRealtimeSessionsOptions, type SessionLimits } from './common/module-settings.js';

export {
  DEFAULT_LIMITS,
  DEFAULT_TICKET_TTL_SECONDS,
  MAX_TICKET_TTL_SECONDS,
  MIN_TICKET_TTL_SECONDS,
  REALTIME_SESSIONS_PATH,
  REALTIME_SOCKET_PATH,
  type ResolvedRealtimeSessionsOptions,
  type SessionLimits,
} from './common/module-settings.js';

/**
 * Provider options (`providers`, `models`, `credentials`, `openai` / `xai` / `gemini`, `loopback`)
 * are ProviderOptions (providers/provider-options.ts).
 */
export interface RealtimeSessionsModuleOptions extends ProviderOptions {
  /** Runtime API keys accepted by the default verifier. Ignored when `apiKeyVerifier` is set. */
  apiKeys?: StaticApiKey[];
  /** A custom key store. Wins over `apiKeys`. */
  apiKeyVerifier?: ApiKeyVerifier;
  /** Where tickets live. Default: an in-memory store (one instance only). */
  ticketRepository?: TicketRepository;
  /** When false, minting answers 503 `tickets_disabled`. Default true. */
  ticketsEnabled?: boolean;
  /**
   * Public base URL of this gateway (e.g. `https://voice.example.com`), used to build `ws_url`.
   * Default: the request's scheme and Host header.
   */
  publicUrl?: string;
  /**
   * Render every HTTP error of the whole app (404s of unknown routes included) with the
   * `{"error":{...}}` body. Default false: only this module's routes, so a host app keeps its
   * own error format. The standalone server turns it on.
   */
  formatAllErrors?: boolean;
  /** Session limits of the WebSocket gateway (docs/protocol.md §3). */
  limits?: Partial<SessionLimits>;
  /** Metering / audit hook called when sessions start and end. Default: no-op. */
  sessionEvents?: SessionEventsHook;
  /** Counts live sessions per project. Default: in-memory (one instance). */
  sessionLimiter?: SessionLimiter;
  /**
   * Share tickets and session leases between gateway instances through Redis (needs the optional
   * peer `ioredis`): a `redis://` / `rediss://` URL, an ioredis client you own, or connection
   * options. Selects the Redis ticket store and session limiter; an explicit `ticketRepository` or
   * `sessionLimiter` still wins.
   */
  redis?: RealtimeRedisConfig;
  /** The clock sessions read for their timeouts. Default: the system clock; tests pass their own. */
  clock?: Clock;

  /**
   * Prometheus metrics (prom-client). Off by default. `true`: a registry of the module's own served
   * at GET /metrics; `{ registry }`: register into the host's registry; `{ path }`: another route,
   * `path: false` for none (the host serves its registry). RealtimeMetrics is injectable either way.
   */
  metrics?: RealtimeMetricsModuleOptions;
}

export function resolveOptions(options: RealtimeSessionsModuleOptions): ResolvedRealtimeSessionsOptions {
  return {
    ticketsEnabled: options.ticketsEnabled ?? true,
    publicUrl: options.publicUrl ? options.publicUrl.replace(/\/+$/, '') : undefined,
    formatAllErrors: options.formatAllErrors ?? false,
    limits: resolveLimits(options.limits),
    // Off unless asked for: a library deployment serves real models only (the standalone server turns it on).
  };
}

function resolveLimits(overrides: Partial<SessionLimits> = {}): SessionLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(overrides) as [keyof SessionLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new Error(`RealtimeSessionsModule: limits.${name} must be a positive number`);
    }
    limits[name] = value;
  }
  return limits;
}
