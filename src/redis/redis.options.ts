// The `redis` module option: where the shared ticket store and session leases live when several
// gateway instances run side by side. Defaults favour failing fast over waiting: a request that
// needs Redis never waits longer than the command timeout.
import { isRedisClient, type RedisClient } from './redis-client.js';

/** Cluster startup nodes: `"host:port"`, a port, or `{ host, port }`. */
export type RedisClusterNode = string | number | { host?: string; port?: number };

export interface RealtimeRedisOptions {
  /** An ioredis client (`Redis` or `Cluster`) you created and own. The module never closes it. */
  client?: RedisClient;
  /** `redis://[user:password@]host:port[/db]`, or `rediss://…` for TLS. */
  url?: string;
  /**
   * ioredis `RedisOptions` (host, port, password, `tls`, `sentinels` + `name`, …), laid over the
   * module's fail-fast defaults. With `url`, they complement what the URL says.
   */
  connection?: object;
  /** Redis Cluster: startup nodes, and ioredis `ClusterOptions` laid over the defaults. */
  cluster?: { nodes: RedisClusterNode[]; options?: object };
  /** Prefix of every key the module writes. Default `realtime:`. */
  keyPrefix?: string;
  /** A command without a reply after this long fails (the request answers 503). Default 1000 ms. */
  commandTimeoutMs?: number;
  /** Longest wait for a TCP connection, and for the first connection at start-up. Default 5000 ms. */
  connectTimeoutMs?: number;
  /**
   * Lifetime of a live session's lease in the per-project count. Refreshed every third of it while
   * the session lives; the leases of an instance that dies expire after at most this long.
   * Default 30 000 ms.
   */
  sessionLeaseTtlMs?: number;
  /**
   * Count the rate limits (`limits.mintsPerKeyPerSecond`, `limits.upgradesPerIpPerSecond`) on Redis,
   * so that every instance draws from one budget, at the cost of one more Redis round trip per mint
   * and per upgrade. Default false: each instance counts in its own memory (see README "Security").
   */
  sharedRateLimits?: boolean;
}

/** The `redis` option: a URL, an ioredis client you own, or connection options. */
export type RealtimeRedisConfig = string | RedisClient | RealtimeRedisOptions;

export const DEFAULT_REDIS_KEY_PREFIX = 'realtime:';
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 1000;
export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_SESSION_LEASE_TTL_MS = 30_000;

/** The `redis` option after defaults and checks. Exactly one of client / url+connection / connection / cluster. */
export interface ResolvedRedisOptions {
  client: RedisClient | undefined;
  url: string | undefined;
  connection: object | undefined;
  cluster: { nodes: RedisClusterNode[]; options: object } | undefined;
  keyPrefix: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  sessionLeaseTtlMs: number;
  sharedRateLimits: boolean;
}

export function resolveRedisOptions(config: RealtimeRedisConfig): ResolvedRedisOptions {
  const options: RealtimeRedisOptions =
    typeof config === 'string' ? { url: config } : isRedisClient(config) ? { client: config } : config;
  const sources = [options.client && 'client', (options.url || options.connection) && 'url/connection', options.cluster && 'cluster'].filter(Boolean);
  if (sources.length !== 1) {
    throw new Error(
      sources.length === 0
        ? 'RealtimeSessionsModule: redis needs one of client, url, connection or cluster'
        : `RealtimeSessionsModule: redis takes one of client, url/connection or cluster, got ${sources.join(' and ')}`,
    );
  }
  // The URL may hold a password: say what is wrong with it, never echo it.
  if (options.url !== undefined && !/^rediss?:\/\/./i.test(options.url)) {
    throw new Error('RealtimeSessionsModule: redis.url must start with redis:// or rediss://');
  }
  if (options.cluster && (!Array.isArray(options.cluster.nodes) || options.cluster.nodes.length === 0)) {
    throw new Error('RealtimeSessionsModule: redis.cluster.nodes must list at least one node');
  }
  return {
    client: options.client,
    url: options.url,
    connection: options.connection,
    cluster: options.cluster && { nodes: options.cluster.nodes, options: options.cluster.options ?? {} },
    keyPrefix: options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX,
    commandTimeoutMs: positive('commandTimeoutMs', options.commandTimeoutMs, DEFAULT_REDIS_COMMAND_TIMEOUT_MS),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, DEFAULT_REDIS_CONNECT_TIMEOUT_MS),
    sessionLeaseTtlMs: positive('sessionLeaseTtlMs', options.sessionLeaseTtlMs, DEFAULT_SESSION_LEASE_TTL_MS),
    sharedRateLimits: options.sharedRateLimits === true,
  };
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`RealtimeSessionsModule: redis.${name} must be a positive integer (ms)`);
  return value;
}
