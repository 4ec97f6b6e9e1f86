// Environment → module options for the standalone server. Bad values stop the server at start
// with a message naming the variable, never a silent default.
import { randomBytes } from 'node:crypto';
import type { StaticApiKey } from '../auth/static-api-key.verifier.js';
import { canonicalOrigin } from '../common/origin.js';
import { BUILT_IN_PROVIDERS } from '../providers/built-in-providers.js';
import type { ProviderSettings } from '../providers/provider-options.js';
import type { ProviderPlugin } from '../providers/provider-plugin.js';
import { DEFAULT_WARM_IDLE_SECONDS } from '../providers/warm-upstreams.options.js';
import { DEFAULT_LIMITS, type RealtimeSessionsModuleOptions } from '../realtime-sessions.options.js';
import {
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  DEFAULT_REDIS_KEY_PREFIX,
  DEFAULT_SESSION_LEASE_TTL_MS,
  type RealtimeRedisOptions,
} from '../redis/redis.options.js';

export interface StandaloneConfig {
  port: number;
  host: string | undefined;
  options: RealtimeSessionsModuleOptions;
  /** Set when no keys were configured: the generated key, to print once. */
  devApiKey: string | undefined;
  /** Serve the demo page at `/` and its ticket route (`REALTIME_DEMO`, default true). */
  demo: boolean;
}

export class EnvConfigError extends Error {}

export function parseBoolean(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value.trim() === '') return fallback;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new EnvConfigError(`${name} must be true or false, got "${value}"`);
}

export function parseInteger(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new EnvConfigError(`${name} must be an integer in [${min}, ${max}], got "${value}"`);
  }
  return n;
}

/** RFC 6750 token68: what can follow "Bearer ". */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** `REALTIME_API_KEYS=<project>:<key>,<project>:<key>` */
export function parseApiKeys(value: string | undefined): StaticApiKey[] {
  if (value === undefined || value.trim() === '') return [];
  return value.split(',').map((entry, i) => {
    const trimmed = entry.trim();
    const colon = trimmed.indexOf(':');
    const projectId = colon > 0 ? trimmed.slice(0, colon) : '';
    const key = colon > 0 ? trimmed.slice(colon + 1) : '';
    if (!projectId || !key) {
      // The entry itself may be a key: never echo it.
      throw new EnvConfigError(`REALTIME_API_KEYS entry #${i + 1} must be "<project>:<key>"`);
    }
    if (!BEARER_TOKEN.test(key)) {
      throw new EnvConfigError(`REALTIME_API_KEYS entry #${i + 1}: the key can never be sent as "Authorization: Bearer <key>" (letters, digits and -._~+/ only)`);
    }
    return { projectId, key };
  });
}

/** `REDIS_URL` (absent → in-memory stores, one instance) and its companions. */
export function parseRedis(env: NodeJS.ProcessEnv): RealtimeRedisOptions | undefined {
  const url = env.REDIS_URL?.trim();
  if (!url) return undefined;
  // The URL may carry a password: never echo it.
  if (!/^rediss?:\/\/[^\s]+$/i.test(url)) throw new EnvConfigError('REDIS_URL must be a redis:// or rediss:// URL');
  return {
    url,
    keyPrefix: env.REDIS_KEY_PREFIX?.trim() || DEFAULT_REDIS_KEY_PREFIX,
    commandTimeoutMs: parseInteger('REDIS_COMMAND_TIMEOUT_MS', env.REDIS_COMMAND_TIMEOUT_MS, DEFAULT_REDIS_COMMAND_TIMEOUT_MS, 10, 60_000),
    sessionLeaseTtlMs: parseInteger('REDIS_SESSION_LEASE_TTL_MS', env.REDIS_SESSION_LEASE_TTL_MS, DEFAULT_SESSION_LEASE_TTL_MS, 500, 3_600_000),
    sharedRateLimits: parseBoolean('REDIS_SHARED_RATE_LIMITS', env.REDIS_SHARED_RATE_LIMITS, false),
  };
}

/** `REALTIME_ALLOWED_ORIGINS=https://a.example,https://b.example` (absent → any origin). */
export function parseAllowedOrigins(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value.split(',').map((entry, i) => {
    const origin = canonicalOrigin(entry.trim());
    if (!origin) throw new EnvConfigError(`REALTIME_ALLOWED_ORIGINS entry #${i + 1} must be an origin such as https://app.example.com, got "${entry.trim()}"`);
    return origin;
  });
}

/** `<P>_API_KEY` (absent → provider off) and `<P>_BASE_URL` (an http(s) URL). */
export function providerCredentials(env: NodeJS.ProcessEnv, prefix: string): ProviderSettings | undefined {
  const apiKey = env[`${prefix}_API_KEY`]?.trim();
  const baseUrl = env[`${prefix}_BASE_URL`]?.trim() || undefined;
  if (baseUrl && !/^https?:\/\/[^\s/]+/i.test(baseUrl)) {
    throw new EnvConfigError(`${prefix}_BASE_URL must be an absolute http(s) URL, got "${baseUrl}"`);
  }
  if (!apiKey) return undefined;
  return { apiKey, ...(baseUrl ? { baseUrl } : {}) };
}

/**
 * Each provider's settings from its variables: `<PREFIX>_API_KEY` / `<PREFIX>_BASE_URL` for one
 * reached over the network, its switch (e.g. `REALTIME_LOOPBACK_ENABLED`) for an in-process one,
 * whose standalone default may differ from the library's (loopback: on here, off in the library).
 */
export function providerSettings(env: NodeJS.ProcessEnv, plugins: readonly ProviderPlugin[] = BUILT_IN_PROVIDERS): Record<string, ProviderSettings> {
  const settings: Record<string, ProviderSettings> = {};
  for (const plugin of plugins) {
    const { access } = plugin;
    if (access.kind === 'api-key') {
      const credentials = providerCredentials(env, access.envPrefix);
      if (credentials) settings[plugin.name] = credentials;
    } else if (access.envSwitch) {
      settings[plugin.name] = { enabled: parseBoolean(access.envSwitch, env[access.envSwitch], access.standaloneDefault ?? access.enabledByDefault) };
    }
  }
  return settings;
}

export function loadStandaloneConfig(env: NodeJS.ProcessEnv = process.env): StandaloneConfig {
  const apiKeys = parseApiKeys(env.REALTIME_API_KEYS);
  let devApiKey: string | undefined;
  if (apiKeys.length === 0) {
    devApiKey = `rtk-dev-${randomBytes(24).toString('base64url')}`;
    apiKeys.push({ projectId: 'dev', key: devApiKey, keyId: 'dev' });
  }
  const publicUrl = env.PUBLIC_URL?.trim() || undefined;
  if (publicUrl && !/^(https?|wss?):\/\/[^\s/]+/i.test(publicUrl)) {
    throw new EnvConfigError(`PUBLIC_URL must be an absolute http(s) URL, got "${publicUrl}"`);
  }
  return {
    port: parseInteger('PORT', env.PORT, 8080, 0, 65535),
    host: env.HOST?.trim() || undefined,
    devApiKey,
    demo: parseBoolean('REALTIME_DEMO', env.REALTIME_DEMO, true),
    options: {
      apiKeys,
      ticketsEnabled: parseBoolean('REALTIME_TICKETS_ENABLED', env.REALTIME_TICKETS_ENABLED, true),
      publicUrl: publicUrl?.replace(/^ws/i, 'http'),
      formatAllErrors: true,
      redis: parseRedis(env),
      credentials: providerSettings(env),
      ...warmUpstreams(env),
      ...(env.REALTIME_ALLOWED_ORIGINS?.trim() ? { allowedOrigins: parseAllowedOrigins(env.REALTIME_ALLOWED_ORIGINS) } : {}),
      limits: {
        startTimeoutSeconds: parseInteger('REALTIME_START_TIMEOUT_SECONDS', env.REALTIME_START_TIMEOUT_SECONDS, DEFAULT_LIMITS.startTimeoutSeconds, 1, 3600),
        idleTimeoutSeconds: parseInteger('REALTIME_IDLE_TIMEOUT_SECONDS', env.REALTIME_IDLE_TIMEOUT_SECONDS, DEFAULT_LIMITS.idleTimeoutSeconds, 1, 86_400),
        maxSessionSeconds: parseInteger('REALTIME_MAX_SESSION_SECONDS', env.REALTIME_MAX_SESSION_SECONDS, DEFAULT_LIMITS.maxSessionSeconds, 1, 7 * 86_400),
        maxFrameBytes: parseInteger('REALTIME_MAX_FRAME_BYTES', env.REALTIME_MAX_FRAME_BYTES, DEFAULT_LIMITS.maxFrameBytes, 1024, 256 * 1024 * 1024),
        maxSessionsPerProject: parseInteger('REALTIME_MAX_SESSIONS_PER_PROJECT', env.REALTIME_MAX_SESSIONS_PER_PROJECT, DEFAULT_LIMITS.maxSessionsPerProject, 1, 1_000_000),
        mintsPerKeyPerSecond: parseInteger('REALTIME_MINTS_PER_KEY_PER_SECOND', env.REALTIME_MINTS_PER_KEY_PER_SECOND, DEFAULT_LIMITS.mintsPerKeyPerSecond, 1, 10_000_000),
        upgradesPerIpPerSecond: parseInteger('REALTIME_UPGRADES_PER_IP_PER_SECOND', env.REALTIME_UPGRADES_PER_IP_PER_SECOND, DEFAULT_LIMITS.upgradesPerIpPerSecond, 1, 10_000_000),
        maxOutstandingTicketsPerProject: parseInteger(
          'REALTIME_MAX_OUTSTANDING_TICKETS_PER_PROJECT',
          env.REALTIME_MAX_OUTSTANDING_TICKETS_PER_PROJECT,
          DEFAULT_LIMITS.maxOutstandingTicketsPerProject,
          1,
          100_000_000,
        ),
        rotationMarginSeconds: parseInteger('REALTIME_ROTATION_MARGIN_SECONDS', env.REALTIME_ROTATION_MARGIN_SECONDS, DEFAULT_LIMITS.rotationMarginSeconds, 1, 3600),
        // 0 turns client resume off.
        resumeGraceSeconds: parseInteger('REALTIME_RESUME_GRACE_SECONDS', env.REALTIME_RESUME_GRACE_SECONDS, DEFAULT_LIMITS.resumeGraceSeconds, 0, 3600),
      },
    },
  };
}

/**
 * `REALTIME_WARM_UPSTREAMS` (sockets kept per provider endpoint; 0, the default, is off),
 * `REALTIME_WARM_IDLE_SECONDS`, `REALTIME_WARM_MODELS` (comma-separated; default every model that can be).
 */
function warmUpstreams(env: NodeJS.ProcessEnv): Pick<RealtimeSessionsModuleOptions, 'warmUpstreams'> {
  const size = parseInteger('REALTIME_WARM_UPSTREAMS', env.REALTIME_WARM_UPSTREAMS, 0, 0, 100);
  if (size === 0) return {};
  const models = env.REALTIME_WARM_MODELS?.split(',').map((m) => m.trim()).filter(Boolean);
  return {
    warmUpstreams: {
      size,
      idleSeconds: parseInteger('REALTIME_WARM_IDLE_SECONDS', env.REALTIME_WARM_IDLE_SECONDS, DEFAULT_WARM_IDLE_SECONDS, 1, 3600),
      ...(models?.length ? { models } : {}),
    },
  };
}
