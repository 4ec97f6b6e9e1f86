// RedisSessionLimiter against a real redis-server: the per-project count is shared by instances,
// admission is atomic, leases are refreshed while held and expire when their instance stops
// refreshing them (it died), and a lease lost on the server comes back at the next refresh.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisSessionLimiter, type RedisSessionLimiterOptions } from '../../src/index.js';
import { RedisConnection } from '../../src/redis/redis-connection.js';
import { describeWithRedis, inspectionClient, keysUnder, startRedisServer, uniquePrefix, type RedisServer } from '../helpers/redis-server.js';

Logger.overrideLogger(false);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWithRedis('RedisSessionLimiter', () => {
  let server: RedisServer;
  let inspect: Redis;
  const connections: RedisConnection[] = [];
  const limiters: RedisSessionLimiter[] = [];

  /** One limiter = one gateway instance (its own connection). */
  async function instance(prefix: string, options: RedisSessionLimiterOptions = {}): Promise<RedisSessionLimiter> {
    const connection = await RedisConnection.open({ url: server.url });
    connections.push(connection);
    const limiter = new RedisSessionLimiter(connection.client, { keyPrefix: prefix, ...options });
    limiters.push(limiter);
    return limiter;
  }

  beforeAll(async () => {
    server = await startRedisServer();
    inspect = await inspectionClient(server.url);
  });

  afterAll(async () => {
    for (const limiter of limiters) limiter.close();
    await Promise.all(connections.map((c) => c.close()));
    await inspect?.quit();
    await server?.close();
  });

  it('admits up to the limit, refuses beyond it, and frees a slot on release', async () => {
    const limiter = await instance(uniquePrefix());
    expect(await limiter.acquire('proj_a', 's1', 2)).toBe(true);
    expect(await limiter.acquire('proj_a', 's2', 2)).toBe(true);
    expect(await limiter.acquire('proj_a', 's3', 2)).toBe(false);
    expect(await limiter.acquire('proj_b', 's4', 2)).toBe(true); // per project
    expect(await limiter.count('proj_a')).toBe(2);

    await limiter.release('proj_a', 's1');
    expect(await limiter.count('proj_a')).toBe(1);
    expect(await limiter.acquire('proj_a', 's3', 2)).toBe(true);
    // Release is idempotent, and of an unknown session harmless.
    await limiter.release('proj_a', 's1');
    await limiter.release('proj_a', 'never-acquired');
    expect(await limiter.count('proj_a')).toBe(2);
    expect(limiter.heldLeases).toBe(3);
  });

  it('shares one count between instances', async () => {
    const prefix = uniquePrefix();
    const [a, b] = [await instance(prefix), await instance(prefix)];
    expect(await a.acquire('proj_a', 'a1', 3)).toBe(true);
    expect(await a.acquire('proj_a', 'a2', 3)).toBe(true);
    expect(await b.acquire('proj_a', 'b1', 3)).toBe(true);
    expect(await b.acquire('proj_a', 'b2', 3)).toBe(false);
    expect(await a.acquire('proj_a', 'a3', 3)).toBe(false);
    await a.release('proj_a', 'a1');
    expect(await b.acquire('proj_a', 'b2', 3)).toBe(true);
    expect(await b.count('proj_a')).toBe(3);
  });

  it('is atomic: 400 concurrent acquires over four instances admit exactly the limit', async () => {
    const prefix = uniquePrefix();
    const instances = [await instance(prefix), await instance(prefix), await instance(prefix), await instance(prefix)];
    const results = await Promise.all(Array.from({ length: 400 }, (_, i) => instances[i % 4].acquire('proj_a', `s${i}`, 10)));
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(await instances[0].count('proj_a')).toBe(10);
    expect(instances.reduce((sum, limiter) => sum + limiter.heldLeases, 0)).toBe(10);
  });

  it('keeps one key per project, <prefix>sessions:<project>, that expires with its last lease and goes with its last release', async () => {
    const prefix = uniquePrefix();
    const limiter = await instance(prefix, { leaseTtlMs: 5000 });
    await limiter.acquire('proj_a', 's1', 5);
    await limiter.acquire('proj_a', 's2', 5);
    const key = `${prefix}sessions:proj_a`;
    expect(limiter.keyOf('proj_a')).toBe(key);
    expect(await keysUnder(inspect, prefix)).toEqual([key]);
    expect(await inspect.zrange(key, '0', '-1')).toEqual(['s1', 's2']);
    const pttl = await inspect.pttl(key);
    expect(pttl).toBeGreaterThan(4000);
    expect(pttl).toBeLessThanOrEqual(5000);
    await limiter.release('proj_a', 's1');
    await limiter.release('proj_a', 's2');
    expect(await keysUnder(inspect, prefix)).toEqual([]);
  });

  it('refreshes held leases past their TTL while the sessions live', async () => {
    const prefix = uniquePrefix();
    const [a, b] = [await instance(prefix, { leaseTtlMs: 600 }), await instance(prefix, { leaseTtlMs: 600 })];
    expect(await a.acquire('proj_a', 'a1', 1)).toBe(true);
    await sleep(2000); // more than three TTLs
    expect(await b.count('proj_a')).toBe(1);
    expect(await b.acquire('proj_a', 'b1', 1)).toBe(false);
  });

  it("lets a dead instance's leases expire within one TTL, then admits new sessions", async () => {
    const prefix = uniquePrefix();
    const [dead, alive] = [await instance(prefix, { leaseTtlMs: 400 }), await instance(prefix, { leaseTtlMs: 400 })];
    expect(await dead.acquire('proj_a', 'd1', 1)).toBe(true);
    dead.close(); // stops refreshing without releasing: what a killed process looks like from Redis
    expect(await alive.acquire('proj_a', 'a1', 1)).toBe(false);
    const died = Date.now();
    let admittedAfter = -1;
    while (Date.now() - died < 2000) {
      if (await alive.acquire('proj_a', 'a1', 1)) {
        admittedAfter = Date.now() - died;
        break;
      }
      await sleep(25);
    }
    expect(admittedAfter).toBeGreaterThanOrEqual(0);
    expect(admittedAfter).toBeLessThanOrEqual(400 + 250); // one TTL, plus polling and a loaded machine
  });

  it('puts back, at the next refresh, a lease the server lost (e.g. Redis restarted empty)', async () => {
    const prefix = uniquePrefix();
    const limiter = await instance(prefix, { leaseTtlMs: 60_000 });
    await limiter.acquire('proj_a', 's1', 1);
    await inspect.del(limiter.keyOf('proj_a'));
    expect(await limiter.count('proj_a')).toBe(0);
    await limiter.refresh();
    expect(await limiter.count('proj_a')).toBe(1);
    expect(await limiter.acquire('proj_a', 's2', 1)).toBe(false);
  });

  it('does not put back a lease released while a refresh was on its way', async () => {
    const prefix = uniquePrefix();
    const limiter = await instance(prefix, { leaseTtlMs: 60_000 });
    await limiter.acquire('proj_a', 's1', 5);
    const refreshing = limiter.refresh();
    await limiter.release('proj_a', 's1');
    await refreshing;
    expect(await limiter.count('proj_a')).toBe(0);
  });

  it('refuses a refresh interval that is not shorter than the TTL', async () => {
    const connection = await RedisConnection.open({ url: server.url });
    connections.push(connection);
    expect(() => new RedisSessionLimiter(connection.client, { leaseTtlMs: 1000, refreshIntervalMs: 1000 })).toThrow(/shorter/);
  });

  describe('when Redis cannot answer', () => {
    it('throws from acquire (the upgrade answers 503) instead of admitting', async () => {
      const connection = await RedisConnection.open({ url: server.url, commandTimeoutMs: 200 });
      connections.push(connection);
      const limiter = new RedisSessionLimiter(connection.client, { keyPrefix: uniquePrefix() });
      limiters.push(limiter);
      await connection.close();
      await expect(limiter.acquire('proj_a', 's1', 5)).rejects.toThrow();
    });
  });
});
