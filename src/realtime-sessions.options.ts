// Module options and their defaults, in one place. Everything a host app can configure.
import type { ApiKeyVerifier } from './auth/api-key-verifier.js';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ClientIpResolver } from './auth/rate-limits.js';
import type { Clock } from './common/clock.js';
import { canonicalOrigin } from './common/origin.js';
import type { LiveSessionDirectory } from './live-sessions/live-session-directory.js';
import type { StaticApiKey } from './auth/static-api-key.verifier.js';
import type { SessionEventsHook } from './gateway/session-events.js';
import type { SessionLimiter } from './gateway/session-limiter.js';
import type { ProviderOptions } from './providers/provider-options.js';
import type { RealtimeRedisConfig } from './redis/redis.options.js';
import type { TicketRepository } from './tickets/ticket.repository.js';
import type { RealtimeMetricsModuleOptions } from './metrics/metrics.module.js';
import { DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_LIMITS, type ResolvedRealtimeSessionsOptions, type SessionLimits } from './common/module-settings.js';

export {
  DEFAULT_DRAIN_TIMEOUT_MS,
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
   * Web origins (`https://app.example.com`) allowed to open `/v3/realtime`. An upgrade whose
   * `Origin` header is not one of them gets 403 `origin_not_allowed` before its ticket is looked
   * at (so it is not spent); an upgrade without `Origin` (a non-browser client) is not affected.
   * Default: any origin. A ticket can narrow this further with `allowed_origins` at mint.
   */
  allowedOrigins?: string[];
  /**
   * Where live sessions are listed and terminated across instances (GET / DELETE
   * /v3/realtime-sessions/live). Default: in memory (one instance), in Redis with `redis`.
   */
  liveSessionDirectory?: LiveSessionDirectory;
  /** This instance's name in the live-session list. Default `<hostname>:<pid>:<random>`. */
  instanceId?: string;
  /**
   * The client address that `limits.upgradesPerIpPerSecond` counts per. Default: the socket's peer
   * address. Behind a reverse proxy, return the address your proxy reports (e.g. the last hop of
   * `X-Forwarded-For` that your proxy appends), or every client shares the proxy's budget.
   */
  clientIp?: ClientIpResolver;
  /**
   * Prometheus metrics (prom-client). Off by default. `true`: a registry of the module's own served
   * at GET /metrics; `{ registry }`: register into the host's registry; `{ path }`: another route,
   * `path: false` for none (the host serves its registry). RealtimeMetrics is injectable either way.
   */
  metrics?: RealtimeMetricsModuleOptions;


  // ---- health and drain (issue 10) ----
  /**
   * Serve `GET /health/live` and `GET /health/ready` (@nestjs/terminus). Ready is 503 while the
   * ticket store or the session limiter cannot answer, and while draining. Default off: a host
   * may have its own terminus (it can use the exported `ReadinessChecks` and `DrainState`); the
   * standalone server turns it on. With `forRootAsync`, give it beside `useFactory` (it decides
   * which routes exist, before the factory runs).
   */
  health?: boolean | RealtimeHealthOptions;
  /**
   * Once a drain starts (`DrainState.startDrain()`, SIGTERM in the standalone server), how long
   * live sessions may continue before the rest get `session.terminating` `server_shutdown` and
   * close 1001. Default 30 000 ms.
   */
  drainTimeoutMs?: number;
}

export interface RealtimeHealthOptions {
  /** Base path of the two routes. Default `health`. */
  path?: string;
  /** Longest wait for one readiness check (ms). Default 1000. */
  checkTimeoutMs?: number;
}

export function resolveOptions(options: RealtimeSessionsModuleOptions): ResolvedRealtimeSessionsOptions {
  return {
    ticketsEnabled: options.ticketsEnabled ?? true,
    publicUrl: options.publicUrl ? options.publicUrl.replace(/\/+$/, '') : undefined,
    formatAllErrors: options.formatAllErrors ?? false,
    limits: resolveLimits(options.limits),
    allowedOrigins: resolveAllowedOrigins(options.allowedOrigins),
    instanceId: options.instanceId || `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    drainTimeoutMs: resolveDrainTimeout(options),
    // Off unless asked for: a library deployment serves real models only (the standalone server turns it on).
  };
}

function resolveDrainTimeout(options: RealtimeSessionsModuleOptions): number {
  if (options.health !== undefined) {
    // forRoot takes `health` out of the options; it is only here when a forRootAsync factory returned it.
    throw new Error('RealtimeSessionsModule: with forRootAsync, give `health` beside useFactory, not in the options it returns');
  }
  const value = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  if (!Number.isInteger(value) || value < 0) throw new Error('RealtimeSessionsModule: drainTimeoutMs must be a non-negative integer (ms)');
  return value;
}

function resolveLimits(overrides: Partial<SessionLimits> = {}): SessionLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(overrides) as [keyof SessionLimits, number | undefined][]) {
    if (value === undefined) continue;
    // resumeGraceSeconds: 0 turns client resume off.
    const min = name === 'resumeGraceSeconds' ? 0 : Number.MIN_VALUE;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      throw new Error(`RealtimeSessionsModule: limits.${name} must be a ${min === 0 ? 'non-negative' : 'positive'} number`);
    }
    limits[name] = value;
  }
  return limits;
}

function resolveAllowedOrigins(origins: string[] | undefined): string[] | undefined {
  if (origins === undefined) return undefined;
  if (!Array.isArray(origins)) throw new Error('RealtimeSessionsModule: allowedOrigins must be an array of origins');
  return origins.map((origin) => {
    const canonical = canonicalOrigin(origin);
    if (!canonical) throw new Error(`RealtimeSessionsModule: allowedOrigins: "${String(origin)}" is not an origin such as https://app.example.com`);
    return canonical;
  });
}
