// The per-project session limit across gateway instances. Each live session holds a lease in a
// sorted set per project (`<prefix>sessions:<project>`, member: session id, score: lease expiry on
// the Redis server's clock). Admission is one Lua script: drop expired leases, count, add. The
// instance that holds a lease refreshes it while the session lives; the leases of an instance that
// dies stop being refreshed and expire by themselves, so its slots come back within one TTL.
import { RefreshLoop } from '../redis/refresh-loop.js';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-client.js';
import { pingWithin } from '../redis/redis-ping.js';
import { LUA_SERVER_NOW, RedisScript } from '../redis/redis-script.js';
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS, DEFAULT_REDIS_KEY_PREFIX, DEFAULT_SESSION_LEASE_TTL_MS } from '../redis/redis.options.js';
import { SessionLimiter } from './session-limiter.js';

export interface RedisSessionLimiterOptions {
  /** Prefix of every key. Default `realtime:`. */
  keyPrefix?: string;
  /** Lease lifetime; an instance that stops refreshing loses its leases after this. Default 30 s. */
  leaseTtlMs?: number;
  /** How often held leases are extended. Default a third of the TTL (two refreshes may fail). */
  refreshIntervalMs?: number;
  /** Longest wait for `ping()` (ms), whatever the client's own settings. Default 1000. */
  commandTimeoutMs?: number;
}

// The key lives exactly as long as its longest lease: a project with no live session leaves nothing.
const EXPIRE_WITH_LAST_LEASE = `
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end
`;

/**
 * Lua: admission to a lease set, for ACQUIRE and for the gateway's one-round-trip redemption
 * (gateway/redis-redemption.ts). Expects `now` (the server's clock, ms) and `leases` (the set's key),
 * `session` (the session id), `max` and `ttl` (ms), and a local `admitted` = 0, which it sets to 1
 * when the session is admitted or already held (at the limit it writes nothing).
 */
export const LUA_ADMIT_LEASE = `
redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
if redis.call('ZSCORE', leases, session) or redis.call('ZCARD', leases) < max then
  redis.call('ZADD', leases, now + ttl, session)
  local last = redis.call('ZRANGE', leases, -1, -1, 'WITHSCORES')
  if last[2] then redis.call('PEXPIREAT', leases, last[2]) end
  admitted = 1
end
`;

/** KEYS[1] lease set; ARGV: session id, max, ttl ms. 1 = admitted (or already held), 0 = at the limit. */
const ACQUIRE = new RedisScript(`${LUA_SERVER_NOW}
local leases, session, max, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local admitted = 0
${LUA_ADMIT_LEASE}
return admitted
`);

/**
 * KEYS[1] lease set; ARGV: ttl ms, then the session ids this instance holds. Re-adds a lease that
 * is gone (Redis restarted empty, or this process stalled past the TTL): the session is live and counts.
 */
const REFRESH = new RedisScript(`${LUA_SERVER_NOW}
local expiry = now + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], expiry, ARGV[i]) end
${EXPIRE_WITH_LAST_LEASE}
return #ARGV - 1
`);

/** KEYS[1] lease set. Live leases of the project, on every instance. */
const COUNT = new RedisScript(`${LUA_SERVER_NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`);

export class RedisSessionLimiter extends SessionLimiter implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisSessionLimiter.name);
  private readonly keyPrefix: string;
  private readonly leaseTtlMs: number;
  private readonly refreshIntervalMs: number;
  private readonly commandTimeoutMs: number;
  /** Leases this instance holds: project → session ids. */
  private readonly held = new Map<string, Set<string>>();
  private readonly refreshLoop: RefreshLoop;
  private refreshFailing = false;
  private closed = false;

  constructor(
    private readonly client: RedisClient,
    options: RedisSessionLimiterOptions = {},
  ) {
    super();
    this.keyPrefix = `${options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX}sessions:`;
    this.leaseTtlMs = options.leaseTtlMs ?? DEFAULT_SESSION_LEASE_TTL_MS;
    this.refreshIntervalMs = options.refreshIntervalMs ?? Math.max(1, Math.floor(this.leaseTtlMs / 3));
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
    if (!(this.leaseTtlMs > 0) || !(this.refreshIntervalMs > 0) || this.refreshIntervalMs >= this.leaseTtlMs) {
      throw new Error('RedisSessionLimiter: leaseTtlMs must be positive and refreshIntervalMs shorter than it');
    }
    this.refreshLoop = new RefreshLoop(() => this.refresh(), this.refreshIntervalMs);
  }

  /** The Redis key of a project's lease set. */
  keyOf(projectId: string): string {
    return this.keyPrefix + projectId;
  }

  async acquire(projectId: string, sessionId: string, max: number): Promise<boolean> {
    // If this times out after Redis did add the lease, nobody refreshes it: it expires within one TTL.
    const admitted = (await ACQUIRE.run(this.client, [this.keyOf(projectId)], [sessionId, max, this.leaseTtlMs])) === 1;
    if (admitted) this.hold(projectId, sessionId);
    return admitted;
  }

  /**
   * Keeps refreshing a lease this instance took, here or in another script on this limiter's
   * client (the one-round-trip redemption, gateway/redis-redemption.ts), until `release`.
   */
  hold(projectId: string, sessionId: string): void {
    if (this.closed) return;
    const sessions = this.held.get(projectId) ?? new Set<string>();
    sessions.add(sessionId);
    this.held.set(projectId, sessions);
    this.refreshLoop.start();
  }

  /** The client the leases live on (the one-round-trip redemption runs there too). */
  get redisClient(): RedisClient {
    return this.client;
  }

  /** Lifetime of a lease (ms). */
  get leaseTtl(): number {
    return this.leaseTtlMs;
  }

  async release(projectId: string, sessionId: string): Promise<void> {
    const sessions = this.held.get(projectId);
    sessions?.delete(sessionId);
    if (sessions?.size === 0) this.held.delete(projectId);
    if (this.held.size === 0) this.refreshLoop.stop();
    // If this fails, the lease is no longer refreshed and expires within one TTL.
    await this.client.call('ZREM', this.keyOf(projectId), sessionId);
  }

  /** PING within the command timeout: throws when Redis does not answer PONG in time (readiness). */
  override async ping(): Promise<void> {
    await pingWithin(this.client, this.commandTimeoutMs);
  }

  /** Live leases of a project across all instances. */
  async count(projectId: string): Promise<number> {
    return Number(await COUNT.run(this.client, [this.keyOf(projectId)], []));
  }

  /** Leases this instance holds and refreshes. */
  get heldLeases(): number {
    let n = 0;
    for (const sessions of this.held.values()) n += sessions.size;
    return n;
  }

  /** Extends every lease this instance holds. Called by the timer; exposed for tests. */
  async refresh(): Promise<void> {
    const projects = [...this.held].map(([projectId, sessions]) => [projectId, [...sessions]] as const);
    const results = await Promise.allSettled(
      projects.map(([projectId, sessions]) => REFRESH.run(this.client, [this.keyOf(projectId)], [this.leaseTtlMs, ...sessions])),
    );
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure && !this.refreshFailing) {
      this.logger.warn(`Session leases could not be refreshed (${(failure.reason as Error)?.message}); retrying`);
    } else if (!failure && this.refreshFailing) {
      this.logger.log('Session leases refreshed again');
    }
    this.refreshFailing = failure !== undefined;
  }

  /** Stops refreshing (the leases then expire by themselves). */
  close(): void {
    this.closed = true;
    this.refreshLoop.stop();
    this.held.clear();
  }

  onApplicationShutdown(): void {
    this.close();
  }

}
