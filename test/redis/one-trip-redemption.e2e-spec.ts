// One Redis round trip per redemption (issue 12): with the module's own Redis stores, the upgrade's
// redemption and its session lease are one script (one command on the wire, nothing else touching a
// ticket, lease or outstanding key). A ticket refused for the session limit is spent, whatever the
// stores: 101 then `session_limit_reached` (1013), and the same ticket later gets 401 (counted
// `replayed`). A ticket whose key was revoked gives back the lease the script took. A host's own
// limiter keeps the two-step path (redeem, then acquire) with the same outcomes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { ApiKeyVerifier, InMemorySessionLimiter, METRIC_NAMES, SessionLimiter, ticketIdOf, type ApiKeyIdentity, type RealtimeSessionsModuleOptions } from '../../src/index.js';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { RUNTIME_KEY, startRealtimeApp } from '../helpers/realtime-app.js';
import { describeWithRedisProcess, inspectionClient, startRedisServer, uniquePrefix, type RedisServer } from '../helpers/redis-server.js';
import { closeAll, connect, mintTicket, sleep, type RealtimeTestClient } from '../helpers/ws-client.js';
import { parsePrometheusText, valueOf } from '../metrics/prometheus-text.js';

Logger.overrideLogger(false);

const LOOPBACK = { config: { model: 'loopback/echo' } };

async function redemptions(app: HttpApp, outcome: string): Promise<number> {
  const res = await fetch(`${app.baseUrl}/metrics`);
  return valueOf(parsePrometheusText(await res.text()), METRIC_NAMES.redemptions, { outcome }) ?? 0;
}

/** The static test key, whose `isKeyActive` answers false once `revoked`. */
class RevocableVerifier extends ApiKeyVerifier {
  revoked = false;

  async verify(apiKey: string): Promise<ApiKeyIdentity | null> {
    return apiKey === RUNTIME_KEY.key ? { keyId: RUNTIME_KEY.keyId!, projectId: RUNTIME_KEY.projectId, kind: 'runtime' } : null;
  }

  override async isKeyActive(): Promise<boolean> {
    return !this.revoked;
  }
}

describeWithRedisProcess('one Redis round trip per redemption', () => {
  let server: RedisServer;
  let inspect: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    inspect = await inspectionClient(server.url);
  }, 30_000);

  afterAll(async () => {
    await inspect?.quit();
    await server?.close();
  });

  it.each(PLATFORMS)('redeems the ticket and takes the lease with one Redis command (%s)', async (platform) => {
    const keyPrefix = uniquePrefix(platform);
    const client = new Redis(server.url, { commandTimeout: 1000, enableOfflineQueue: false, lazyConnect: true });
    await client.connect();
    const app = await startRealtimeApp(platform, { redis: { client, keyPrefix } });
    const sent: unknown[][] = [];
    const call = client.call.bind(client) as (...args: unknown[]) => Promise<unknown>;
    (client as { call: unknown }).call = (...args: unknown[]) => {
      sent.push(args);
      return call(...args);
    };
    const clients: RealtimeTestClient[] = [];
    try {
      // A first upgrade loads the scripts into Redis (EVALSHA, then EVAL once).
      const first = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, LOOPBACK) });
      clients.push(first);
      await first.opened();

      const ticket = await mintTicket(app.baseUrl, LOOPBACK);
      sent.length = 0;
      const second = connect(app.baseUrl, { ticket });
      clients.push(second);
      await second.opened();
      await sleep(50);
      const touching = sent.filter((args) => args.some((a) => typeof a === 'string' && /:(ticket|sessions|outstanding):/.test(a)));
      expect(touching.map((args) => [args[0], args[3]])).toEqual([['EVALSHA', `${keyPrefix}ticket:${ticketIdOf(ticket)}`]]);

      // What it did: the lease is there, the ticket spent (tombstone) and no longer outstanding.
      expect(await inspect.zcard(`${keyPrefix}sessions:${RUNTIME_KEY.projectId}`)).toBe(2);
      expect(await inspect.get(`${keyPrefix}ticket:${ticketIdOf(ticket)}`)).toBe('replayed');
      expect(await inspect.zscore(`${keyPrefix}outstanding:${RUNTIME_KEY.projectId}`, ticketIdOf(ticket))).toBeNull();
      await closeAll(clients);
      for (let i = 0; i < 100 && (await inspect.zcard(`${keyPrefix}sessions:${RUNTIME_KEY.projectId}`)) > 0; i += 1) await sleep(20);
      expect(await inspect.zcard(`${keyPrefix}sessions:${RUNTIME_KEY.projectId}`)).toBe(0);
    } finally {
      await closeAll(clients);
      await app.close();
      await client.quit();
    }
  });

  const STORES: [string, () => RealtimeSessionsModuleOptions][] = [
    ['in memory', () => ({})],
    ['on Redis, one round trip', () => ({ redis: { url: server.url, keyPrefix: uniquePrefix('limit') } })],
    ['on Redis with a host limiter, two round trips', () => ({ redis: { url: server.url, keyPrefix: uniquePrefix('limit') }, sessionLimiter: new InMemorySessionLimiter() })],
  ];

  describe.each(STORES)('tickets %s', (_name, options) => {
    it('spends a ticket refused for the session limit: 101 and 1013 now, 401 (replayed) when retried', async () => {
      const app = await startRealtimeApp('fastify', { ...options(), metrics: true, limits: { maxSessionsPerProject: 1 } });
      const clients: RealtimeTestClient[] = [];
      try {
        const holder = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, LOOPBACK) });
        clients.push(holder);
        await holder.opened();

        const ticket = await mintTicket(app.baseUrl, LOOPBACK);
        const refused = connect(app.baseUrl, { ticket });
        clients.push(refused);
        await refused.opened();
        expect(await refused.next('session.terminating')).toMatchObject({ error: { code: 'session_limit_reached' } });
        expect((await refused.closed).code).toBe(1013);
        expect(await redemptions(app, 'limit_reached')).toBe(1);

        // The slot frees up; the refused ticket stays spent.
        await holder.close();
        const again = connect(app.baseUrl, { ticket });
        clients.push(again);
        const outcome = await again.outcome;
        expect(outcome).toMatchObject({ kind: 'rejected', status: 401 });
        expect((outcome as { json: { error: { code: string } } }).json.error.code).toBe('invalid_ticket');
        expect(await redemptions(app, 'replayed')).toBe(1);

        // A fresh ticket is admitted once the holder's lease is released.
        let admitted = false;
        for (let i = 0; i < 50 && !admitted; i += 1) {
          const fresh = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, LOOPBACK) });
          clients.push(fresh);
          await fresh.opened();
          fresh.send({ type: 'session.start', config: {} });
          const answer = await fresh.nextWhere((e) => e.type === 'session.terminating' || e.type === 'session.started', 'an answer');
          admitted = answer.type === 'session.started';
          if (!admitted) await sleep(20);
        }
        expect(admitted).toBe(true);
      } finally {
        await closeAll(clients);
        await app.close();
      }
    });

    it('refuses a ticket whose key was revoked (401 key_revoked) and leaves no lease behind', async () => {
      const verifier = new RevocableVerifier();
      const app = await startRealtimeApp('express', { ...options(), apiKeyVerifier: verifier, limits: { maxSessionsPerProject: 1 } });
      const clients: RealtimeTestClient[] = [];
      try {
        const ticket = await mintTicket(app.baseUrl, LOOPBACK);
        verifier.revoked = true;
        const refused = connect(app.baseUrl, { ticket });
        clients.push(refused);
        expect(await refused.outcome).toMatchObject({ kind: 'rejected', status: 401, json: { error: { code: 'key_revoked' } } });
        verifier.revoked = false;
        // The project's only slot is free: the next ticket opens a session.
        const limiter = app.app.get(SessionLimiter) as { count?: (projectId: string) => number | Promise<number> };
        for (let i = 0; i < 50 && (await limiter.count?.(RUNTIME_KEY.projectId!)) !== 0; i += 1) await sleep(20);
        expect(await limiter.count?.(RUNTIME_KEY.projectId!)).toBe(0);
        const next = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, LOOPBACK) });
        clients.push(next);
        await next.opened();
        expect((await next.start({})).type).toBe('session.started');
      } finally {
        await closeAll(clients);
        await app.close();
      }
    });
  });
});
