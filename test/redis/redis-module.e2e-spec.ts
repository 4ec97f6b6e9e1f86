// The `redis` module option, on Express and Fastify: it selects the Redis ticket store and session
// limiter (explicit ones still win), Redis holds only the digest-keyed record (never the secret),
// a session's lease lives exactly as long as the session, and the module closes the connections
// it opened but never a client the host app passed in.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import {
  InMemoryLiveSessionDirectory,
  InMemorySessionLimiter,
  LiveSessionDirectory,
  RealtimeSessionsModule,
  RedisLiveSessionDirectory,
  InMemoryTicketRepository,
  RedisSessionLimiter,
  RedisTicketRepository,
  SessionLimiter,
  TicketRepository,
  ticketIdOf,
} from '../../src/index.js';
import { importIoredis, RedisConnection } from '../../src/redis/redis-connection.js';
import { createHttpApp, PLATFORMS, withHttpApp } from '../helpers/http-app.js';
import { expectMinted, request } from '../helpers/mint-client.js';
import { RUNTIME_KEY, startRealtimeApp, withRealtimeApp } from '../helpers/realtime-app.js';
import { describeWithRedis, inspectionClient, keysUnder, startRedisServer, uniquePrefix, type RedisServer } from '../helpers/redis-server.js';
import { connect, mintTicket } from '../helpers/ws-client.js';

const LOOPBACK = { model: 'loopback/echo' };

describeWithRedis('RealtimeSessionsModule with the redis option', () => {
  let server: RedisServer;
  let inspect: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    inspect = await inspectionClient(server.url);
  });

  afterAll(async () => {
    await inspect?.quit();
    await server?.close();
  });

  describe.each(PLATFORMS)('on %s', (platform) => {
    it('stores tickets in Redis under the digest of the secret, never the secret itself', async () => {
      const prefix = uniquePrefix(platform);
      await withRealtimeApp(platform, { redis: { url: server.url, keyPrefix: prefix } }, async (app) => {
        expect(app.app.get(TicketRepository)).toBeInstanceOf(RedisTicketRepository);
        expect(app.app.get(SessionLimiter)).toBeInstanceOf(RedisSessionLimiter);

        const secrets: string[] = [];
        const ids: string[] = [];
        for (let i = 0; i < 5; i += 1) {
          const minted = expectMinted(
            await request(app.baseUrl, {
              apiKey: RUNTIME_KEY.key,
              json: { config: { model: 'openai/gpt-realtime-2', instructions: 'Only about the weather' }, locked_fields: ['voice'], ttl_seconds: 120 },
            }),
          );
          secrets.push(minted.client_secret);
          ids.push(minted.id);
        }
        const allKeys = await keysUnder(inspect, prefix);
        // One record per ticket; one index entry per public id (to revoke by it); the project's
        // outstanding-ticket set (ticket ids). No mint counter: rates are counted per instance.
        const keys = allKeys.filter((key) => key.startsWith(`${prefix}ticket:`));
        expect(keys).toEqual(secrets.map((s) => `${prefix}ticket:${ticketIdOf(s)}`).sort());
        const indexKeys = allKeys.filter((key) => key.startsWith(`${prefix}ticket-id:`));
        expect(indexKeys).toEqual(ids.map((id) => `${prefix}ticket-id:${id}`).sort());
        expect(allKeys.filter((key) => !keys.includes(key) && !indexKeys.includes(key))).toEqual([
          `${prefix}outstanding:${RUNTIME_KEY.projectId}`,
        ]);
        const outstanding = await inspect.zrange(`${prefix}outstanding:${RUNTIME_KEY.projectId}`, '0', '-1');
        expect(outstanding.sort()).toEqual(secrets.map((s) => ticketIdOf(s)).sort());
        for (const key of allKeys) for (const secret of secrets) expect(key).not.toContain(secret);
        for (const key of indexKeys) {
          const value = (await inspect.get(key)) as string;
          for (const secret of secrets) expect(value).not.toContain(secret);
          expect(await inspect.pttl(key)).toBeGreaterThan(118_000);
        }
        for (const key of keys) {
          const value = (await inspect.get(key)) as string;
          for (const secret of secrets) {
            expect(value).not.toContain(secret);
            expect(key).not.toContain(secret);
          }
          const record = JSON.parse(value);
          expect(record).toMatchObject({
            projectId: RUNTIME_KEY.projectId,
            keyId: RUNTIME_KEY.keyId,
            config: { model: 'openai/gpt-realtime-2', instructions: 'Only about the weather' },
            lockedFields: ['voice'],
          });
          expect(record.expiresAt - record.createdAt).toBe(120_000);
          expect(await inspect.pttl(key)).toBeGreaterThan(118_000);
        }
      });
    });

    it('redeems a ticket once at the upgrade, and holds a lease in Redis exactly while the session lives', async () => {
      const prefix = uniquePrefix(platform);
      await withRealtimeApp(platform, { redis: { url: server.url, keyPrefix: prefix } }, async (app) => {
        const ticket = await mintTicket(app.baseUrl, { config: LOOPBACK });
        const client = connect(app.baseUrl, { ticket });
        expect(await client.opened()).toBe(`opper-ticket.${ticket}`);
        // The record is gone from Redis: what is left under the ticket's key is the tombstone that
        // makes a replay count as one (README, What Redis holds).
        const left = await keysUnder(inspect, `${prefix}ticket:`);
        expect(left).toEqual([`${prefix}ticket:${ticketIdOf(ticket)}`]);
        expect(await inspect.get(left[0])).toBe('replayed');
        await client.start({});
        const leaseKey = `${prefix}sessions:${RUNTIME_KEY.projectId}`;
        expect(await inspect.zcard(leaseKey)).toBe(1);

        const replay = connect(app.baseUrl, { ticket });
        expect((await replay.rejected()).status).toBe(401);

        await client.close();
        await eventuallyAsync(async () => (await inspect.exists(leaseKey)) === 0, 'the lease is released');
      });
    });
  });

  it('accepts a plain URL string', async () => {
    await withRealtimeApp('express', { redis: server.url }, async (app) => {
      expect(app.app.get(TicketRepository)).toBeInstanceOf(RedisTicketRepository);
      const ticket = await mintTicket(app.baseUrl);
      expect(await inspect.exists(`realtime:ticket:${ticketIdOf(ticket)}`)).toBe(1);
      await inspect.del(`realtime:ticket:${ticketIdOf(ticket)}`);
    });
  });

  it('takes the redis option from forRootAsync too', async () => {
    const module = RealtimeSessionsModule.forRootAsync({
      useFactory: async () => ({ apiKeys: [RUNTIME_KEY], redis: { url: server.url, keyPrefix: 'async:' } }),
    });
    await withHttpApp(createHttpApp('fastify', module), async (app) => {
      const tickets = app.app.get(TicketRepository) as RedisTicketRepository;
      expect(tickets).toBeInstanceOf(RedisTicketRepository);
      const ticket = await mintTicket(app.baseUrl);
      expect(await inspect.exists(tickets.keyOf(ticketIdOf(ticket)))).toBe(1);
      expect(tickets.keyOf('x')).toBe('async:ticket:x');
      await inspect.del(tickets.keyOf(ticketIdOf(ticket)));
    });
  });

  it('uses a client the app passes in, and leaves it open when the app closes', async () => {
    const own = new Redis(server.url, { commandTimeout: 500, enableOfflineQueue: false });
    try {
      const app = await startRealtimeApp('express', { redis: own });
      const connection = app.app.get(RedisConnection);
      expect(connection.client).toBe(own);
      expect(connection.owned).toBe(false);
      expectMinted(await request(app.baseUrl, { apiKey: RUNTIME_KEY.key }));
      await app.close();
      expect(own.status).toBe('ready');
      expect(await own.ping()).toBe('PONG');
    } finally {
      await own.quit();
    }
  });

  it('closes the connection it opened when the app closes', async () => {
    const app = await startRealtimeApp('express', { redis: { url: server.url } });
    const connection = app.app.get(RedisConnection);
    expect(connection.owned).toBe(true);
    expect(connection.client.status).toBe('ready');
    await app.close();
    expect(connection.client.status).toBe('end');
  });

  it('lets an explicit ticketRepository, sessionLimiter and liveSessionDirectory win (and then opens no connection)', async () => {
    const tickets = new InMemoryTicketRepository();
    const limiter = new InMemorySessionLimiter();
    const directory = new InMemoryLiveSessionDirectory();
    await withRealtimeApp('express', { redis: server.url, ticketRepository: tickets, sessionLimiter: limiter, liveSessionDirectory: directory }, async (app) => {
      expect(app.app.get(TicketRepository)).toBe(tickets);
      expect(app.app.get(SessionLimiter)).toBe(limiter);
      expect(app.app.get(LiveSessionDirectory)).toBe(directory);
      expect(app.app.get(RedisConnection)).toBeNull();
    });
    tickets.close();
  });

  it('uses Redis for whichever part is not given explicitly', async () => {
    const limiter = new InMemorySessionLimiter();
    await withRealtimeApp('express', { redis: server.url, sessionLimiter: limiter }, async (app) => {
      expect(app.app.get(TicketRepository)).toBeInstanceOf(RedisTicketRepository);
      expect(app.app.get(SessionLimiter)).toBe(limiter);
      expect(app.app.get(LiveSessionDirectory)).toBeInstanceOf(RedisLiveSessionDirectory);
    });
  });

  it('stays in memory without the redis option', async () => {
    await withRealtimeApp('express', {}, async (app) => {
      expect(app.app.get(TicketRepository)).toBeInstanceOf(InMemoryTicketRepository);
      expect(app.app.get(SessionLimiter)).toBeInstanceOf(InMemorySessionLimiter);
      expect(app.app.get(LiveSessionDirectory)).toBeInstanceOf(InMemoryLiveSessionDirectory);
      expect(app.app.get(RedisConnection)).toBeNull();
    });
  });
});

describe('the redis option without ioredis installed', () => {
  it('fails with a message that says what to install', async () => {
    const notInstalled = Object.assign(new Error("Cannot find package 'ioredis'"), { code: 'ERR_MODULE_NOT_FOUND' });
    await expect(importIoredis(() => Promise.reject(notInstalled))).rejects.toThrow('npm install ioredis');
  });

  it('passes other import failures through unchanged', async () => {
    await expect(importIoredis(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });
});

/** Polls an async condition until true, or fails after `timeoutMs`. */
async function eventuallyAsync(condition: () => Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
