// Abuse limits on who may knock how often: mints per API key per second and WebSocket upgrade
// attempts per client IP per second, each answered 429 `rate_limited` with `Retry-After`. Counting is
// rate-limiter-flexible's fixed one-second window in this instance's memory; on the module's Redis
// connection (every instance draws from one budget) only with `redis.sharedRateLimits`. They are
// flood shields, not quotas: counted locally, they add no Redis round trip to a mint or an upgrade
// and a flood costs Redis nothing (README "Security: abuse limits and faults").
//
// On Redis, when it cannot be reached, each instance falls back to counting in its own memory (the
// library's insurance limiter) rather than refusing everything: throttling is a shield against
// floods, not an access decision, and the requests it lets through still need the ticket store,
// which fails closed on its own.
import type { IncomingMessage } from 'node:http';
import { HttpStatus } from '@nestjs/common';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeApiError } from '../errors/realtime-api.error.js';
import type { RedisClient } from '../redis/redis-client.js';

export interface RateLimitSettings {
  /** Mints one API key may make per second (all instances together on Redis). */
  mintsPerKeyPerSecond: number;
  /** WebSocket upgrade attempts on /v3/realtime one client IP may make per second. */
  upgradesPerIpPerSecond: number;
}

/** Where the counters live: this process, or the module's Redis (keys under `<keyPrefix>rl:`). */
export type RateLimitStore = { kind: 'memory' } | { kind: 'redis'; client: RedisClient; keyPrefix: string };

/** The client address used for the per-IP budget (the socket's peer unless the host app says otherwise). */
export type ClientIpResolver = (req: IncomingMessage) => string | undefined;

export const socketPeerAddress: ClientIpResolver = (req) => req.socket?.remoteAddress;

export class RateLimits {
  private readonly mints: RateLimiterAbstract;
  private readonly upgrades: RateLimiterAbstract;

  constructor(
    settings: RateLimitSettings,
    store: RateLimitStore = { kind: 'memory' },
    private readonly clientIpOf: ClientIpResolver = socketPeerAddress,
  ) {
    this.mints = limiter('mint', settings.mintsPerKeyPerSecond, store);
    this.upgrades = limiter('upgrade', settings.upgradesPerIpPerSecond, store);
  }

  /** Counts one mint by this key; throws 429 `rate_limited` once the key is over its budget. */
  consumeMint(keyId: string): Promise<void> {
    return consume(this.mints, keyId, 'Too many tickets minted with this API key');
  }

  /** Counts one upgrade attempt from the request's client address; throws 429 `rate_limited` once over budget. */
  consumeUpgrade(req: IncomingMessage): Promise<void> {
    return consume(this.upgrades, this.clientIpOf(req) || 'unknown', 'Too many connection attempts from this address');
  }
}

function limiter(name: string, points: number, store: RateLimitStore): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ keyPrefix: name, points, duration: 1 });
  if (store.kind === 'memory') return memory;
  return new RateLimiterRedis({
    // An ioredis client (Redis or Cluster): the library defines its Lua command on it.
    storeClient: store.client,
    keyPrefix: `${store.keyPrefix}rl:${name}`,
    points,
    duration: 1,
    rejectIfRedisNotReady: true,
    insuranceLimiter: memory,
  });
}

async function consume(limiter: RateLimiterAbstract, key: string, message: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
    const retryAfterSeconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    throw new RealtimeApiError(HttpStatus.TOO_MANY_REQUESTS, ErrorCode.RateLimited, `${message}; retry after ${retryAfterSeconds} s`, {
      retry_after_seconds: retryAfterSeconds,
    }, { retryAfterSeconds });
  }
}
