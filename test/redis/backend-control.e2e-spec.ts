// Backend control across two gateway instances on one real Redis (each its own Nest app, its own
// Redis connections, its own port), on Express and Fastify: revoke on A then redeem on B; the live
// list spans both instances and only the caller's project; a termination asked on A ends a session
// on B within 1 s, also after B's subscriber connection was killed (CLIENT KILL TYPE pubsub) and
// when the termination is asked while it is still reconnecting; idempotent minting across instances,
// with nothing in Redis that yields a secret; origin binding checked before the ticket is spent.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import {
  LiveSessionDirectory,
  RedisLiveSessionDirectory,
  type StaticApiKey,
} from '../../src/index.js';
import { PLATFORMS, type HttpApp, type Platform } from '../helpers/http-app.js';
import { expectError, expectMinted, request, type MintResponse } from '../helpers/mint-client.js';
import { RUNTIME_KEY, startRealtimeApp } from '../helpers/realtime-app.js';
import { describeWithRedisProcess, inspectionClient, keysUnder, startRedisServer, uniquePrefix, type RedisServer } from '../helpers/redis-server.js';
import { closeAll, connect, eventually, type RealtimeTestClient } from '../helpers/ws-client.js';
import { RecordingSessionEvents } from '../helpers/fakes.js';

const OTHER_KEY: StaticApiKey = { key: 'rtk-test-runtime-key-b', projectId: 'proj_b', keyId: 'key_b' };
const LOOPBACK = { model: 'loopback/echo' };
const METADATA = { user_id: 'u_42', plan: 'pro-plan-marker' };
const PAGE = 'https://app.example.com';


const timings: string[] = [];

describeWithRedisProcess('backend control across two instances on one Redis', () => {
  let redis: RedisServer;
  let inspect: Redis;

  beforeAll(async () => {
    redis = await startRedisServer();
    inspect = await inspectionClient(redis.url);
  }, 30_000);

  afterAll(async () => {
    await inspect?.quit();
    await redis?.close();
    console.log(`Remote termination timings:\n  ${timings.join('\n  ')}`);
  });

  describe.each(PLATFORMS)('on %s', (platform: Platform) => {
    let prefix: string;
    let a: HttpApp;
    let b: HttpApp;
    const hooks = { a: new RecordingSessionEvents(), b: new RecordingSessionEvents() };
    const clients: RealtimeTestClient[] = [];

    beforeAll(async () => {
      prefix = uniquePrefix(`control-${platform}`);
      const options = (name: 'a' | 'b') => ({
        apiKeys: [RUNTIME_KEY, OTHER_KEY],
        redis: { url: redis.url, keyPrefix: prefix },
        sessionEvents: hooks[name],
        instanceId: `instance-${name}` });
      [a, b] = await Promise.all([startRealtimeApp(platform, options('a')), startRealtimeApp(platform, options('b'))]);
    }, 30_000);

    afterAll(async () => {
      await closeAll(clients);
      await Promise.all([a?.close(), b?.close()]);
    });

    async function mint(on: HttpApp, body: unknown = { config: LOOPBACK }, apiKey = RUNTIME_KEY.key, headers: Record<string, string> = {}): Promise<MintResponse> {
      return expectMinted(await request(on.baseUrl, { apiKey, json: body, headers }));
    }

    async function startSession(on: HttpApp, ticket: string, origin?: string): Promise<{ client: RealtimeTestClient; sessionId: string }> {
      const client = connect(on.baseUrl, { ticket, ...(origin ? { origin } : {}) });
      clients.push(client);
      await client.opened();
      const started = await client.start({});
      return { client, sessionId: String(started.session_id) };
    }

    const live = async (on: HttpApp, apiKey = RUNTIME_KEY.key) => {
      const result = await request(on.baseUrl, { apiKey, method: 'GET', path: '/v3/realtime-sessions/live' });
      expect(result.status).toBe(200);
      return (result.json as { data: { id: string; instance: string; ticket_id: string; metadata: Record<string, string> }[] }).data;
    };

    const terminate = (on: HttpApp, sessionId: string, apiKey = RUNTIME_KEY.key) =>
      request(on.baseUrl, { apiKey, method: 'DELETE', path: `/v3/realtime-sessions/live/${sessionId}` });

    it('revokes on A a ticket minted on B; redeeming it on B then gets 401', async () => {
      const minted = await mint(b);
      const revoked = await request(a.baseUrl, { apiKey: RUNTIME_KEY.key, method: 'DELETE', path: `/v3/realtime-sessions/${minted.id}` });
      expect(revoked.status).toBe(204);
      const refused = await connect(b.baseUrl, { ticket: minted.client_secret }).rejected();
      expect(refused.status).toBe(401);
      expect(refused.json).toMatchObject({ error: { code: 'invalid_ticket' } });
      // Another project cannot revoke (nor see) a ticket of this one.
      const outstanding = await mint(a);
      expectError(await request(b.baseUrl, { apiKey: OTHER_KEY.key, method: 'DELETE', path: `/v3/realtime-sessions/${outstanding.id}` }), 404, 'ticket_not_found');
    });

    it('lets exactly one of concurrent revokes and redeems of a ticket win', async () => {
      for (let round = 0; round < 10; round += 1) {
        const minted = await mint(a);
        const upgrade = connect(b.baseUrl, { ticket: minted.client_secret });
        clients.push(upgrade);
        const [revoked, outcome] = await Promise.all([
          request(a.baseUrl, { apiKey: RUNTIME_KEY.key, method: 'DELETE', path: `/v3/realtime-sessions/${minted.id}` }),
          upgrade.outcome,
        ]);
        expect([revoked.status, outcome.kind === 'open' ? 101 : outcome.kind === 'rejected' ? outcome.status : 0].sort()).toEqual(
          revoked.status === 204 ? [204, 401] : [101, 409],
        );
      }
      await closeAll(clients.splice(0));
    });

    it("lists the sessions of both instances, only the caller's project's, with metadata; metadata reaches B's hook", async () => {
      const onA = await startSession(a, (await mint(a, { config: LOOPBACK, metadata: METADATA })).client_secret);
      const mintedB = await mint(a, { config: LOOPBACK, metadata: { user_id: 'u_7' } });
      const onB = await startSession(b, mintedB.client_secret);
      const theirs = await startSession(b, (await mint(b, { config: LOOPBACK }, OTHER_KEY.key)).client_secret);

      for (const on of [a, b]) {
        const sessions = await live(on);
        expect(sessions.map((s) => [s.id, s.instance]).sort()).toEqual(
          [
            [onA.sessionId, 'instance-a'],
            [onB.sessionId, 'instance-b'],
          ].sort(),
        );
        expect(sessions.find((s) => s.id === onB.sessionId)).toMatchObject({ ticket_id: mintedB.id, metadata: { user_id: 'u_7' } });
      }
      expect((await live(a, OTHER_KEY.key)).map((s) => s.id)).toEqual([theirs.sessionId]);
      await eventually(() => hooks.b.started.some((e) => e.sessionId === onB.sessionId), "B's hook saw the start");
      expect(hooks.b.started.find((e) => e.sessionId === onB.sessionId)!.metadata).toEqual({ user_id: 'u_7' });
      expect(hooks.a.started.find((e) => e.sessionId === onA.sessionId)!.metadata).toEqual(METADATA);
      // The browser never sees it.
      expect(JSON.stringify(onA.client.events)).not.toContain(METADATA.plan);

      await closeAll(clients.splice(0));
      await eventually(() => hooks.b.ended.some((e) => e.sessionId === onB.sessionId), 'B ended');
      await eventually(() => hooks.a.ended.some((e) => e.sessionId === onA.sessionId), 'A ended');
      expect(await live(a)).toEqual([]);
    });

    async function expectRemoteTermination(label: string, beforeTerminate?: () => Promise<void>): Promise<void> {
      const { client, sessionId } = await startSession(b, (await mint(a)).client_secret);
      // Another project cannot end it.
      expectError(await terminate(a, sessionId, OTHER_KEY.key), 404, 'session_not_found');
      await beforeTerminate?.();
      const asked = performance.now();
      const answer = await terminate(a, sessionId);
      expect(answer.status).toBe(202);
      const terminating = await client.next('session.terminating', 3000);
      const tookMs = Math.round(performance.now() - asked);
      expect(terminating).toMatchObject({ error: { code: 'terminated_by_backend' } });
      expect((await client.closed).code).toBe(1000);
      expect(tookMs).toBeLessThan(1000);
      await eventually(() => hooks.b.ended.some((e) => e.sessionId === sessionId), "B's hook saw the end");
      expect(hooks.b.ended.find((e) => e.sessionId === sessionId)).toMatchObject({ endReason: 'terminated_by_backend', closeCode: 1000 });
      expect((await live(a)).map((s) => s.id)).not.toContain(sessionId);
      timings.push(`${platform}, ${label}: session on B ended ${tookMs} ms after DELETE on A`);
    }

    const subscriberOf = (app: HttpApp) => app.app.get(LiveSessionDirectory) as RedisLiveSessionDirectory;

    /** Kills every pub/sub connection on the server (B's subscriber among them). */
    const killSubscribers = async () => {
      expect(Number(await inspect.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBeGreaterThanOrEqual(2);
    };

    it('ends from A a session running on B within 1 s', async () => {
      await expectRemoteTermination('subscriber connected');
    });

    it("still does after B's subscriber was killed and reconnected", async () => {
      const readyBefore = subscriberOf(b).subscriberReadyCount;
      await killSubscribers();
      await eventually(() => subscriberOf(b).subscriberReadyCount > readyBefore, "B's subscriber reconnected", 5000);
      await expectRemoteTermination('after the subscriber reconnected');
    });

    it("still does when the termination is asked while B's subscriber is down (re-checked on reconnect)", async () => {
      const readyBefore = subscriberOf(b).subscriberReadyCount;
      await expectRemoteTermination('asked while the subscriber was down', killSubscribers);
      // The message was published while B had no subscriber, or just after: the marker covers both.
      await eventually(() => subscriberOf(b).subscriberReadyCount > readyBefore, "B's subscriber reconnected", 5000);
    });

    it('mints idempotently across instances, keeps no secret readable in Redis, and refuses a changed body with 409', async () => {
      const body = { config: LOOPBACK, metadata: METADATA };
      const first = await mint(a, body, RUNTIME_KEY.key, { 'Idempotency-Key': 'retry-after-timeout' });
      const retry = await mint(b, body, RUNTIME_KEY.key, { 'Idempotency-Key': 'retry-after-timeout' });
      expect(retry).toEqual({ ...first, ws_url: expect.any(String) });
      expect(retry.ws_url).toBe(first.ws_url.replace(a.host, b.host));
      expectError(
        await request(b.baseUrl, { apiKey: RUNTIME_KEY.key, json: { config: LOOPBACK }, headers: { 'Idempotency-Key': 'retry-after-timeout' } }),
        409,
        'idempotency_key_reused',
      );
      const keys = await keysUnder(inspect, `${prefix}mint:`);
      expect(keys).toHaveLength(1);
      expect(keys[0]).not.toContain('retry-after-timeout');
      const stored = (await inspect.get(keys[0])) as string;
      expect(stored).not.toContain(first.client_secret);
      expect(stored).not.toContain(METADATA.plan);
      const ticketTtl = await inspect.pttl(`${prefix}ticket-id:${first.id}`);
      expect(await inspect.pttl(keys[0])).toBeLessThanOrEqual(ticketTtl + 50);
      await startSession(b, first.client_secret);
      await closeAll(clients.splice(0));
    });

    it('refuses a wrong origin with 403 on A; the same ticket then works from the right origin on B', async () => {
      const minted = await mint(a, { config: LOOPBACK, allowed_origins: [PAGE] });
      const wrong = connect(a.baseUrl, { ticket: minted.client_secret, origin: 'https://evil.example.com' });
      clients.push(wrong);
      const refused = await wrong.rejected();
      expect(refused.status).toBe(403);
      expect(refused.json).toMatchObject({ error: { code: 'origin_not_allowed' } });
      await startSession(b, minted.client_secret, PAGE);
      expect((await connect(a.baseUrl, { ticket: minted.client_secret, origin: PAGE }).rejected()).status).toBe(401);
      await closeAll(clients.splice(0));
    });
  });
});
