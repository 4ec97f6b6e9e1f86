// Backend control of tickets and live sessions on one instance (in memory), over real HTTP and real
// sockets on Express and Fastify: ticket metadata (to the events hook, never to the provider or the
// browser), the public ticket id and revocation, listing and ending live sessions, idempotent
// minting, and origin binding (per ticket and deployment-wide) checked before the ticket is spent.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  type RealtimeSessionsModuleOptions,
  type StaticApiKey,
} from '../../src/index.js';
import { PLATFORMS, type HttpApp, type Platform } from '../helpers/http-app.js';
import { expectError, expectMinted, request, type MintResponse } from '../helpers/mint-client.js';
import { RUNTIME_KEY, startRealtimeApp } from '../helpers/realtime-app.js';
import { closeAll, connect, eventually, FAKE_MODEL, RecordingProvider, type RealtimeTestClient } from '../helpers/ws-client.js';
import { RecordingSessionEvents } from '../helpers/fakes.js';

/** A runtime key of another project. */
const OTHER_KEY: StaticApiKey = { key: 'rtk-test-runtime-key-b', projectId: 'proj_b', keyId: 'key_b' };
const MANAGEMENT_KEY: StaticApiKey = { key: 'opmak-test-management', projectId: 'proj_a', keyId: 'mk' };
const METADATA = { user_id: 'u_42', plan: 'pro-plan-marker' };
const PAGE = 'https://app.example.com';


describe.each(PLATFORMS)('backend control, one instance in memory (%s)', (platform: Platform) => {
  let app: HttpApp;
  let provider: RecordingProvider;
  let hook: RecordingSessionEvents;
  const clients: RealtimeTestClient[] = [];

  async function start(options: RealtimeSessionsModuleOptions = {}): Promise<HttpApp> {
    provider = new RecordingProvider();
    hook = new RecordingSessionEvents();
    return startRealtimeApp(platform, {
      apiKeys: [RUNTIME_KEY, OTHER_KEY, { ...MANAGEMENT_KEY }],
      providers: [provider],
      models: [FAKE_MODEL],
      sessionEvents: hook,
      ...options });
  }

  async function mint(body: unknown = {}, apiKey = RUNTIME_KEY.key, headers: Record<string, string> = {}): Promise<MintResponse> {
    return expectMinted(await mintRaw(body, apiKey, headers));
  }

  async function mintRaw(body: unknown, apiKey: string, headers: Record<string, string> = {}) {
    return request(app.baseUrl, { apiKey, json: body, headers });
  }

  function open(ticket: string, origin?: string): RealtimeTestClient {
    const client = connect(app.baseUrl, { ticket, ...(origin ? { origin } : {}) });
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    app = await start();
  });

  afterEach(async () => {
    await closeAll(clients.splice(0));
  });

  afterAll(async () => {
    await app.close();
  });

  describe('metadata', () => {
    it('reaches the events hook at start and end, and neither the provider nor the browser', async () => {
      const minted = await mint({ metadata: METADATA });
      const client = open(minted.client_secret);
      await client.opened();
      const started = await client.start({ model: FAKE_MODEL.id, instructions: 'hello' });
      await eventually(() => hook.started.length > 0, 'sessionStarted');
      const event = hook.started.find((e) => e.sessionId === started.session_id)!;
      expect(event.metadata).toEqual(METADATA);
      expect(event.ticketId).toBe(minted.id);

      client.send({ type: 'text.input', text: 'hi' });
      await eventually(() => provider.last.received.length > 0, 'the upstream received the text');
      await client.close();
      await eventually(() => hook.ended.some((e) => e.sessionId === started.session_id), 'sessionEnded');
      expect(hook.ended.find((e) => e.sessionId === started.session_id)!.metadata).toEqual(METADATA);

      // Neither the provider (open params, every event sent upstream) nor the browser saw it.
      const upstreamSaw = JSON.stringify({ ...provider.last.params, signal: undefined, handlers: undefined }) + JSON.stringify(provider.last.received);
      expect(upstreamSaw).toContain('hello');
      for (const value of Object.values(METADATA)) {
        expect(upstreamSaw).not.toContain(value);
        expect(JSON.stringify(client.events)).not.toContain(value);
      }
    });

    it.each([
      ['not an object', ['u_42'], /metadata must be an object/],
      ['a non-string value', { user_id: 42 }, /metadata\.user_id must be a string/],
      ['17 keys', Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])), /at most 16 keys/],
      ['a 513-byte value', { note: 'é'.repeat(256) + 'x' }, /metadata\.note must be at most 512 bytes/],
      ['an empty key', { '': 'v' }, /keys must be 1-128 bytes/],
    ])('refuses %s with a 400 naming the field', async (_what, metadata, message) => {
      const error = expectError(await mintRaw({ metadata }, RUNTIME_KEY.key), 400, 'invalid_field');
      expect(error.message).toMatch(message);
      expect(error.details).toMatchObject({ field: 'metadata' });
    });

    it('accepts 16 keys of 512-byte values', async () => {
      await mint({ metadata: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, 'é'.repeat(256)])) });
    });
  });

  describe('ticket id and revocation', () => {
    it('gives each ticket a public id unrelated to its secret', async () => {
      const [a, b] = [await mint(), await mint()];
      expect(a.id).not.toBe(b.id);
      expect(a.id).not.toContain(a.client_secret);
    });

    it('revokes an outstanding ticket: 204, then the upgrade gets 401 and a second revoke 404', async () => {
      const minted = await mint();
      const revoked = await request(app.baseUrl, { apiKey: RUNTIME_KEY.key, method: 'DELETE', path: `/v3/realtime-sessions/${minted.id}` });
      expect(revoked.status).toBe(204);
      const refused = await open(minted.client_secret).rejected();
      expect(refused.status).toBe(401);
      expect(refused.json).toMatchObject({ error: { code: 'invalid_ticket' } });
      expectError(await request(app.baseUrl, { apiKey: RUNTIME_KEY.key, method: 'DELETE', path: `/v3/realtime-sessions/${minted.id}` }), 404, 'ticket_not_found');
    });

    it("answers 404 for another project's ticket, and leaves it usable", async () => {
      const minted = await mint();
      expectError(await request(app.baseUrl, { apiKey: OTHER_KEY.key, method: 'DELETE', path: `/v3/realtime-sessions/${minted.id}` }), 404, 'ticket_not_found');
      await open(minted.client_secret).opened();
    });

    it('answers 404 for an unknown or malformed id, 409 for a redeemed ticket', async () => {
      for (const id of ['rt_AAAAAAAAAAAAAAAAAAAAAA', 'nope', 'live']) {
        expectError(await request(app.baseUrl, { apiKey: RUNTIME_KEY.key, method: 'DELETE', path: `/v3/realtime-sessions/${id}` }), 404, 'ticket_not_found');
      }
      const minted = await mint();
      await open(minted.client_secret).opened();
      expectError(
        await request(app.baseUrl, { apiKey: RUNTIME_KEY.key, method: 'DELETE', path: `/v3/realtime-sessions/${minted.id}` }),
        409,
        'ticket_already_redeemed',
      );
    });
  });

  describe('live sessions', () => {
    it("lists only the caller's project's started sessions, with ticket id, model, provider, metadata and instance", async () => {
      const mine = await mint({ metadata: METADATA });
      const theirs = await mint({}, OTHER_KEY.key);
      const a = open(mine.client_secret);
      const b = open(theirs.client_secret);
      await Promise.all([a.opened(), b.opened()]);
      const [startedA, startedB] = await Promise.all([a.start({ model: FAKE_MODEL.id }), b.start({ model: FAKE_MODEL.id })]);

      const listed = await request(app.baseUrl, { apiKey: RUNTIME_KEY.key, method: 'GET', path: '/v3/realtime-sessions/live' });
      expect(listed.status).toBe(200);
      const data = (listed.json as { data: Record<string, unknown>[] }).data;
      expect(data).toEqual([
        {
          id: startedA.session_id,
          ticket_id: mine.id,
          model: FAKE_MODEL.id,
          provider: 'fake',
          started_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          metadata: METADATA,
          instance: expect.any(String) },
      ]);
      const other = await request(app.baseUrl, { apiKey: OTHER_KEY.key, method: 'GET', path: '/v3/realtime-sessions/live' });
      expect((other.json as { data: { id: string }[] }).data.map((s) => s.id)).toEqual([startedB.session_id]);

      await a.close();
      await eventually(() => hook.ended.some((e) => e.sessionId === startedA.session_id), 'A ended');
      const after = await request(app.baseUrl, { apiKey: RUNTIME_KEY.key, method: 'GET', path: '/v3/realtime-sessions/live' });
      expect((after.json as { data: unknown[] }).data).toEqual([]);
    });

    it('ends a live session: the client gets terminating terminated_by_backend and close 1000, the hook the same reason', async () => {
      const minted = await mint();
      const client = open(minted.client_secret);
      await client.opened();
      const started = await client.start({ model: FAKE_MODEL.id });

      // Another project cannot end it, nor learn it exists.
      expectError(
        await request(app.baseUrl, { apiKey: OTHER_KEY.key, method: 'DELETE', path: `/v3/realtime-sessions/live/${started.session_id}` }),
        404,
        'session_not_found',
      );
      const ended = await request(app.baseUrl, { apiKey: RUNTIME_KEY.key, method: 'DELETE', path: `/v3/realtime-sessions/live/${started.session_id}` });
      expect(ended.status).toBe(202);
      expect(ended.json).toEqual({ id: started.session_id, status: 'terminating' });
      expect(await client.next('session.terminating')).toMatchObject({ error: { code: 'terminated_by_backend' } });
      expect((await client.closed).code).toBe(1000);
      await eventually(() => hook.ended.some((e) => e.sessionId === started.session_id), 'sessionEnded');
      expect(hook.ended.find((e) => e.sessionId === started.session_id)).toMatchObject({ endReason: 'terminated_by_backend', closeCode: 1000 });
      expect(provider.last.closeCalls).toBe(1);

      expectError(
        await request(app.baseUrl, { apiKey: RUNTIME_KEY.key, method: 'DELETE', path: `/v3/realtime-sessions/live/${started.session_id}` }),
        404,
        'session_not_found',
      );
    });

    it('refuses management keys and missing keys on every new route', async () => {
      const routes: [string, string][] = [
        ['GET', '/v3/realtime-sessions/live'],
        ['DELETE', '/v3/realtime-sessions/live/sess_0123456789abcdef0123456789abcdef'],
        ['DELETE', '/v3/realtime-sessions/rt_AAAAAAAAAAAAAAAAAAAAAA'],
      ];
      for (const [method, path] of routes) {
        expectError(await request(app.baseUrl, { apiKey: MANAGEMENT_KEY.key, method, path }), 401, 'management_key_not_allowed');
        expectError(await request(app.baseUrl, { apiKey: null, method, path }), 401, 'missing_credentials');
      }
    });
  });

  describe('idempotent minting', () => {
    it('returns the same ticket for the same key and body, 409 for another body, and keeps projects apart', async () => {
      const body = { config: { model: FAKE_MODEL.id }, metadata: METADATA, ttl_seconds: 120 };
      const first = await mint(body, RUNTIME_KEY.key, { 'Idempotency-Key': 'order-1234' });
      // Same body, other key order: the same request.
      const retry = await mint({ ttl_seconds: 120, metadata: { plan: METADATA.plan, user_id: METADATA.user_id }, config: { model: FAKE_MODEL.id } }, RUNTIME_KEY.key, {
        'Idempotency-Key': 'order-1234' });
      expect(retry).toEqual(first);

      const changed = await mintRaw({ ...body, ttl_seconds: 60 }, RUNTIME_KEY.key, { 'Idempotency-Key': 'order-1234' });
      expectError(changed, 409, 'idempotency_key_reused');

      const otherProject = await mint(body, OTHER_KEY.key, { 'Idempotency-Key': 'order-1234' });
      expect(otherProject.client_secret).not.toBe(first.client_secret);
      const otherKey = await mint(body, RUNTIME_KEY.key, { 'Idempotency-Key': 'order-1235' });
      expect(otherKey.client_secret).not.toBe(first.client_secret);

      // One ticket was handed out for the two mints: it opens once.
      await open(first.client_secret).opened();
      expect((await open(retry.client_secret).rejected()).status).toBe(401);
    });

    it('hands out one ticket to concurrent first requests with the same key', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, () => mint({}, RUNTIME_KEY.key, { 'Idempotency-Key': 'concurrent-1' })));
      expect(new Set(results.map((r) => r.client_secret)).size).toBe(1);
    });

    it('refuses an Idempotency-Key that cannot be one', async () => {
      expectError(await mintRaw({}, RUNTIME_KEY.key, { 'Idempotency-Key': 'x'.repeat(256) }), 400, 'invalid_idempotency_key');
    });
  });

  describe('origin binding', () => {
    it('refuses a wrong or missing origin with 403 without spending the ticket, which then works from the right origin', async () => {
      const minted = await mint({ allowed_origins: ['https://APP.example.com:443/'] });
      for (const origin of ['https://evil.example.com', 'http://app.example.com', undefined]) {
        const refused = await open(minted.client_secret, origin).rejected();
        expect(refused.status).toBe(403);
        expect(refused.json).toMatchObject({ error: { code: 'origin_not_allowed' } });
      }
      await open(minted.client_secret, PAGE).opened();
      expect((await open(minted.client_secret, PAGE).rejected()).status).toBe(401);
    });

    it('gives one 101, to a right-origin upgrade, among concurrent right- and wrong-origin upgrades of one ticket', async () => {
      const minted = await mint({ allowed_origins: [PAGE] });
      const attempts = Array.from({ length: 20 }, (_, i) => open(minted.client_secret, i % 2 ? PAGE : 'https://evil.example.com'));
      const outcomes = await Promise.all(attempts.map((c) => c.outcome));
      const statuses = outcomes.map((o) => (o.kind === 'open' ? 101 : o.kind === 'rejected' ? o.status : 0));
      expect(statuses.filter((s) => s === 101)).toHaveLength(1);
      expect(statuses.findIndex((s) => s === 101) % 2).toBe(1);
      // A wrong origin is refused: 403 while the ticket is outstanding, 401 once the right one took it.
      for (const status of statuses.filter((_, i) => i % 2 === 0)) expect([403, 401]).toContain(status);
      expect(statuses.filter((_, i) => i % 2 === 1 && statuses[i] !== 101).every((s) => s === 401)).toBe(true);
    });

    it('refuses allowed_origins that are not origins', async () => {
      for (const origins of [['https://app.example.com/path'], ['app.example.com'], ['ftp://x.example'], 'https://a.example']) {
        const error = expectError(await mintRaw({ allowed_origins: origins }, RUNTIME_KEY.key), 400, 'invalid_field');
        expect(error.details).toMatchObject({ field: 'allowed_origins' });
      }
    });
  });
});

describe.each(PLATFORMS)('the allowedOrigins option (%s)', (platform: Platform) => {
  it('refuses an upgrade from an unlisted origin with 403 before the ticket is spent; no Origin is allowed', async () => {
    const app = await startRealtimeApp(platform, { allowedOrigins: [PAGE], loopback: true });
    const clients: RealtimeTestClient[] = [];
    try {
      const secret = expectMinted(await request(app.baseUrl, { apiKey: RUNTIME_KEY.key, json: {} })).client_secret;
      const wrong = connect(app.baseUrl, { ticket: secret, origin: 'https://evil.example.com' });
      clients.push(wrong);
      const refused = await wrong.rejected();
      expect(refused.status).toBe(403);
      expect(refused.json).toMatchObject({ error: { code: 'origin_not_allowed' } });
      const right = connect(app.baseUrl, { ticket: secret, origin: PAGE });
      clients.push(right);
      await right.opened();
      // A non-browser client sends no Origin.
      const server = connect(app.baseUrl, { ticket: expectMinted(await request(app.baseUrl, { apiKey: RUNTIME_KEY.key, json: {} })).client_secret });
      clients.push(server);
      await server.opened();
    } finally {
      await closeAll(clients);
      await app.close();
    }
  });

  it('refuses a module option that is not a list of origins', async () => {
    await expect(startRealtimeApp(platform, { allowedOrigins: ['https://a.example/path'] })).rejects.toThrow(/allowedOrigins/);
  });
});
