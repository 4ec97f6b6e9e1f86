// "Works with a plain URL, TLS, Sentinel and Cluster through ioredis options" (issue 5), checked
// against real servers: a TLS-only redis-server (rediss:// + a CA), a master behind a Sentinel, and
// a three-master Redis Cluster. On each: exactly-once redemption and the shared session count.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { generateTicketSecret, RealtimeSessionsModule, RedisSessionLimiter, RedisTicketRepository, ticketIdOf, type TicketRecord } from '../../src/index.js';
import type { RealtimeRedisConfig } from '../../src/redis/redis.options.js';
import { RedisConnection } from '../../src/redis/redis-connection.js';
import { createHttpApp, withHttpApp } from '../helpers/http-app.js';
import { expectError, expectMinted, request } from '../helpers/mint-client.js';
import { RUNTIME_KEY, withRealtimeApp } from '../helpers/realtime-app.js';
import {
  describeWithRedisProcess,
  SILENT_LOGGER,
  startRedisCluster,
  startRedisSentinel,
  startRedisServer,
  startTlsRedisServer,
  uniquePrefix,
  type RedisCluster,
  type RedisServer,
  type RedisSentinel,
  type TlsRedisServer,
} from '../helpers/redis-server.js';
import { connect, mintTicket } from '../helpers/ws-client.js';

Logger.overrideLogger(false);

function ticket(): TicketRecord {
  const now = Date.now();
  return { id: ticketIdOf(generateTicketSecret()), projectId: 'proj_a', keyId: 'key_a', config: { model: 'loopback/echo' }, lockedFields: [], createdAt: now, expiresAt: now + 60_000 };
}

/** Tickets are taken exactly once and the session count is shared, over two connections (two instances). */
async function checkStores(config: () => RealtimeRedisConfig): Promise<void> {
  const keyPrefix = uniquePrefix();
  const [one, two] = [await RedisConnection.open(config()), await RedisConnection.open(config())];
  try {
    expect([one.client.status, two.client.status]).toEqual(['ready', 'ready']);
    const repos = [new RedisTicketRepository(one.client, { keyPrefix }), new RedisTicketRepository(two.client, { keyPrefix })];
    for (let round = 0; round < 10; round += 1) {
      const record = ticket();
      await repos[round % 2].save(record);
      const taken = await Promise.all(Array.from({ length: 200 }, (_, i) => repos[i % 2].consume(record.id)));
      expect(taken.filter(Boolean)).toEqual([record]);
    }
    expect(await repos[0].consumeStrategy()).toBe('getdel');
    // A mint with a public id under the outstanding cap, revoked by its id (one script, or on
    // Cluster one key per command), and the cap counted across both connections.
    const indexed = { ...ticket(), publicId: `rt_${keyPrefix.replace(/\W/g, '')}` };
    await repos[0].save(indexed, { maxOutstandingPerProject: 1 });
    await expect(repos[1].save(ticket(), { maxOutstandingPerProject: 1 })).rejects.toThrow('too many outstanding tickets');
    expect(await repos[1].revoke(indexed.publicId, 'proj_a')).toBe('revoked');
    expect(await repos[0].consume(indexed.id)).toBeNull();
    await repos[1].save(ticket(), { maxOutstandingPerProject: 1 });

    const limiters = [new RedisSessionLimiter(one.client, { keyPrefix }), new RedisSessionLimiter(two.client, { keyPrefix })];
    try {
      const admitted = await Promise.all(Array.from({ length: 40 }, (_, i) => limiters[i % 2].acquire(`proj_${i % 4}`, `s${i}`, 3)));
      expect(admitted.filter(Boolean)).toHaveLength(12); // 3 for each of the 4 projects, whichever instance asked
      expect(await limiters[1].count('proj_0')).toBe(3);
    } finally {
      limiters.forEach((l) => l.close());
    }
  } finally {
    await Promise.all([one.close(), two.close()]);
  }
}

describeWithRedisProcess('Redis deployments', () => {
  describe('TLS (rediss://)', () => {
    let server: TlsRedisServer;

    beforeAll(async () => {
      server = await startTlsRedisServer();
    });

    afterAll(async () => {
      await server?.close();
    });

    it('runs the stores over TLS with a URL and a CA', async () => {
      await checkStores(() => ({ url: server.url, connection: { tls: { ca: server.ca, servername: 'localhost' } } }));
    });

    it('refuses a server it cannot verify: minting answers 503, never an unstored ticket', async () => {
      const module = RealtimeSessionsModule.forRoot({ apiKeys: [RUNTIME_KEY], redis: { url: server.url, connectTimeoutMs: 500 } });
      const starting = createHttpApp('express', module, { configure: (builder) => builder.setLogger(SILENT_LOGGER) });
      await withHttpApp(starting, async (app) => {
        expectError(await request(app.baseUrl, { apiKey: RUNTIME_KEY.key }), 503, 'ticket_store_unavailable');
      });
    });

    it('survives failing TLS handshakes without an unhandled socket error (redis/ioredis#961)', async () => {
      for (let round = 0; round < 3; round += 1) {
        // No CA: every handshake fails, and connections are closed mid-handshake.
        const connections = await Promise.all(
          Array.from({ length: 10 }, () => RedisConnection.open({ url: server.url, connectTimeoutMs: 200 + round * 100 })),
        );
        await Promise.all(connections.map((c) => c.close()));
      }
      // Jest fails this test if any socket error went unhandled meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 200));
    });

    it('serves mint and upgrade through the module', async () => {
      await withRealtimeApp('fastify', { redis: { url: server.url, connection: { tls: { ca: server.ca } } } }, async (app) => {
        expectMinted(await request(app.baseUrl, { apiKey: RUNTIME_KEY.key }));
        const client = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, { config: { model: 'loopback/echo' } }) });
        await client.opened();
        await client.start({});
        await client.close();
      });
    });
  });

  describe('Sentinel', () => {
    let master: RedisServer;
    let sentinel: RedisSentinel;

    beforeAll(async () => {
      master = await startRedisServer();
      sentinel = await startRedisSentinel(master);
    });

    afterAll(async () => {
      await sentinel?.close();
      await master?.close();
    });

    it('finds the master through the sentinel', async () => {
      await checkStores(() => ({ connection: { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: sentinel.masterName } }));
    });

    it('serves mint, upgrade and the session limit through the module (one round trip per redemption)', async () => {
      const redis = { connection: { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: sentinel.masterName }, keyPrefix: uniquePrefix('sentinel') };
      await withRealtimeApp('express', { redis, limits: { maxSessionsPerProject: 1 } }, async (app) => {
        const holder = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, { config: { model: 'loopback/echo' } }) });
        await holder.opened();
        await holder.start({});
        const refused = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, { config: { model: 'loopback/echo' } }) });
        await refused.opened();
        expect(await refused.next('session.terminating')).toMatchObject({ error: { code: 'session_limit_reached' } });
        await holder.close();
      });
    });
  });

  describe('Cluster', () => {
    let cluster: RedisCluster;

    beforeAll(async () => {
      cluster = await startRedisCluster();
    }, 60_000);

    afterAll(async () => {
      await cluster?.close();
    });

    it('spreads ticket and lease keys over the slots, one key per command', async () => {
      await checkStores(() => ({ cluster: { nodes: cluster.startupNodes } }));
    });

    it('serves mint, upgrade and the session limit through the module (redeem, then the lease: two round trips)', async () => {
      const redis = { cluster: { nodes: cluster.startupNodes }, keyPrefix: uniquePrefix('cluster') };
      await withRealtimeApp('fastify', { redis, limits: { maxSessionsPerProject: 1 } }, async (app) => {
        const holder = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, { config: { model: 'loopback/echo' } }) });
        await holder.opened();
        await holder.start({});
        const ticket = await mintTicket(app.baseUrl, { config: { model: 'loopback/echo' } });
        const refused = connect(app.baseUrl, { ticket });
        await refused.opened();
        expect(await refused.next('session.terminating')).toMatchObject({ error: { code: 'session_limit_reached' } });
        await holder.close();
        // Spent at the limit, as on one Redis.
        expect(await connect(app.baseUrl, { ticket }).outcome).toMatchObject({ kind: 'rejected', status: 401 });
      });
    });
  });
});
