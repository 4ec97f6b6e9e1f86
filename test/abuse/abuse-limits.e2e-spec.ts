// Abuse limits (issue 11): mints per API key per second and upgrade attempts per client IP per
// second answer 429 `rate_limited` with Retry-After; a project holding its limit of unredeemed
// tickets gets 429 `too_many_outstanding_tickets`. A refused upgrade never burns its ticket. On
// Redis the cap holds across instances and fails closed (503) when Redis is down; the rate budgets
// are per instance unless `redis.sharedRateLimits` puts them on Redis too.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RealtimeSessionsModule, type RealtimeSessionsModuleOptions, type SessionLimits } from '../../src/index.js';
import { createHttpApp, PLATFORMS, withHttpApp, type HttpApp, type Platform } from '../helpers/http-app.js';
import { expectError, expectMinted, request } from '../helpers/mint-client.js';
import { RUNTIME_KEY } from '../helpers/realtime-app.js';
import { describeWithRedisProcess, SILENT_LOGGER, startRedisServer, uniquePrefix, type RedisServer } from '../helpers/redis-server.js';
import { RedisConnection } from '../../src/redis/redis-connection.js';
import { connect, mintTicket, sleep } from '../helpers/ws-client.js';

const OTHER_KEY = { key: 'rtk-test-runtime-key-b', projectId: 'proj_b', keyId: 'key_b' };
const LOOPBACK = { config: { model: 'loopback/echo' } };

function startApp(platform: Platform, limits: Partial<SessionLimits>, options: RealtimeSessionsModuleOptions = {}): Promise<HttpApp> {
  return createHttpApp(platform, RealtimeSessionsModule.forRoot({ apiKeys: [RUNTIME_KEY, OTHER_KEY], loopback: true, limits, ...options }), {
    configure: (builder) => builder.setLogger(SILENT_LOGGER),
  });
}

const mint = (baseUrl: string, key = RUNTIME_KEY.key, body: unknown = LOOPBACK) => request(baseUrl, { apiKey: key, json: body });

/** Waits for the start of a fresh one-second window, so a burst below lands in one window. */
async function freshWindow(): Promise<void> {
  await sleep(1100);
}

describe.each(PLATFORMS)('abuse limits (%s)', (platform) => {
  it('answers 429 rate_limited with Retry-After once a key is over its mints per second; other keys are not affected', async () => {
    await withHttpApp(startApp(platform, { mintsPerKeyPerSecond: 3 }), async ({ baseUrl }) => {
      await freshWindow();
      const results = await Promise.all([1, 2, 3, 4, 5].map(() => mint(baseUrl)));
      expect(results.filter((r) => r.status === 200)).toHaveLength(3);
      const refused = results.filter((r) => r.status !== 200);
      expect(refused).toHaveLength(2);
      for (const result of refused) {
        const error = expectError(result, 429, 'rate_limited');
        expect(result.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
        expect(error.details).toEqual({ retry_after_seconds: Number(result.headers.get('retry-after')) });
      }
      // Another key has its own budget.
      expectMinted(await mint(baseUrl, OTHER_KEY.key));
      // The window passes: the key mints again.
      await sleep(Number(refused[0].headers.get('retry-after')) * 1000 + 50);
      expectMinted(await mint(baseUrl));
    });
  });

  it('counts invalid bodies too, and checks the key first (an unknown key is 401, not 429)', async () => {
    await withHttpApp(startApp(platform, { mintsPerKeyPerSecond: 2 }), async ({ baseUrl }) => {
      await freshWindow();
      expectError(await mint(baseUrl, RUNTIME_KEY.key, { config: { model: 42 } }), 400);
      expectError(await mint(baseUrl, RUNTIME_KEY.key, { config: { model: 42 } }), 400);
      expectError(await mint(baseUrl), 429, 'rate_limited');
      expectError(await mint(baseUrl, 'rtk-not-a-key'), 401);
    });
  });

  it('refuses upgrades over the per-IP rate with HTTP 429 and Retry-After, before the ticket is consumed', async () => {
    await withHttpApp(startApp(platform, { upgradesPerIpPerSecond: 2 }), async ({ baseUrl }) => {
      const tickets = [await mintTicket(baseUrl, LOOPBACK), await mintTicket(baseUrl, LOOPBACK), await mintTicket(baseUrl, LOOPBACK)];
      await freshWindow();
      const clients = tickets.map((ticket) => connect(baseUrl, { ticket }));
      const outcomes = await Promise.all(clients.map((c) => c.outcome));
      expect(outcomes.filter((o) => o.kind === 'open')).toHaveLength(2);
      const refusedAt = outcomes.findIndex((o) => o.kind === 'rejected');
      const refused = outcomes[refusedAt];
      if (refused.kind !== 'rejected') throw new Error('expected one refusal');
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(refused.headers['content-type']).toBe('application/json');
      expect((refused.json as { error: { code: string } }).error.code).toBe('rate_limited');
      await Promise.all(clients.map((c) => c.close()));
      // The refused attempt did not spend its ticket: it opens once the window has passed.
      await sleep(Number(refused.headers['retry-after']) * 1000 + 50);
      const retry = connect(baseUrl, { ticket: tickets[refusedAt] });
      expect((await retry.outcome).kind).toBe('open');
      await retry.close();
    });
  });

  it('counts per client address, as the clientIp option says', async () => {
    let n = 0;
    // Each attempt from a different (pretend) address: nobody reaches a budget of 1.
    const clientIp = () => `203.0.113.${(n += 1)}`;
    await withHttpApp(startApp(platform, { upgradesPerIpPerSecond: 1 }, { clientIp }), async ({ baseUrl }) => {
      const clients = [];
      for (let i = 0; i < 3; i += 1) clients.push(connect(baseUrl, { ticket: await mintTicket(baseUrl, LOOPBACK) }));
      expect((await Promise.all(clients.map((c) => c.outcome))).map((o) => o.kind)).toEqual(['open', 'open', 'open']);
      await Promise.all(clients.map((c) => c.close()));
    });
  });

  it('caps unredeemed tickets per project: 429 too_many_outstanding_tickets until one is redeemed or expires', async () => {
    await withHttpApp(startApp(platform, { maxOutstandingTicketsPerProject: 2 }), async ({ baseUrl }) => {
      const first = expectMinted(await mint(baseUrl)).client_secret;
      expectMinted(await mint(baseUrl, RUNTIME_KEY.key, { ...LOOPBACK, ttl_seconds: 1 }));
      const full = expectError(await mint(baseUrl), 429, 'too_many_outstanding_tickets');
      expect(full.message).toMatch(/2 unredeemed tickets/);
      // Another project is not affected.
      expectMinted(await mint(baseUrl, OTHER_KEY.key));
      // Redeeming frees a place.
      const client = connect(baseUrl, { ticket: first });
      expect((await client.outcome).kind).toBe('open');
      await client.close();
      expectMinted(await mint(baseUrl));
      expectError(await mint(baseUrl), 429, 'too_many_outstanding_tickets');
      // Expiry frees one too (the 1 s ticket).
      await sleep(1100);
      expectMinted(await mint(baseUrl));
    });
  });
});

describeWithRedisProcess('abuse limits shared through Redis', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    server.resume();
    await server?.close();
  });

  async function twoInstances(limits: Partial<SessionLimits>, sharedRateLimits = false, keyPrefix = uniquePrefix('abuse')): Promise<[HttpApp, HttpApp]> {
    const redis = { url: server.url, keyPrefix, commandTimeoutMs: 300, sharedRateLimits };
    return [await startApp('express', limits, { redis }), await startApp('fastify', limits, { redis })];
  }

  it('one mint budget per key across instances with redis.sharedRateLimits', async () => {
    const [a, b] = await twoInstances({ mintsPerKeyPerSecond: 2 }, true);
    try {
      await freshWindow();
      const results = [await mint(a.baseUrl), await mint(b.baseUrl), await mint(a.baseUrl), await mint(b.baseUrl)];
      expect(results.map((r) => r.status)).toEqual([200, 200, 429, 429]);
      expect(results[3].headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('by default each instance counts its own rates in memory: the budgets are per instance, and Redis holds no counter', async () => {
    const keyPrefix = uniquePrefix('abuse');
    const [a, b] = await twoInstances({ mintsPerKeyPerSecond: 2 }, false, keyPrefix);
    const [c, d] = await twoInstances({ upgradesPerIpPerSecond: 2 }, false, keyPrefix);
    try {
      await freshWindow();
      const mints = [await mint(a.baseUrl), await mint(b.baseUrl), await mint(a.baseUrl), await mint(b.baseUrl), await mint(a.baseUrl)];
      expect(mints.map((r) => r.status)).toEqual([200, 200, 200, 200, 429]);

      const tickets = await Promise.all([0, 1, 2, 3, 4].map(() => mintTicket(c.baseUrl, LOOPBACK)));
      await freshWindow();
      // Two upgrades per instance pass; a third on the same instance is refused.
      const outcomes = [];
      for (const [i, ticket] of tickets.entries()) {
        const client = connect(i % 2 === 1 ? d.baseUrl : c.baseUrl, { ticket });
        outcomes.push(await client.outcome);
        await client.close();
      }
      expect(outcomes.map((o) => o.kind)).toEqual(['open', 'open', 'open', 'open', 'rejected']);
      expect(outcomes[4]).toMatchObject({ status: 429 });

      const probe = await RedisConnection.open({ url: server.url });
      try {
        expect(await probe.client.call('KEYS', `${keyPrefix}rl:*`)).toEqual([]);
        expect(((await probe.client.call('KEYS', `${keyPrefix}*`)) as string[]).length).toBeGreaterThan(0);
      } finally {
        await probe.close();
      }
    } finally {
      await Promise.all([a.close(), b.close(), c.close(), d.close()]);
    }
  });

  it('one outstanding-ticket cap per project across instances; a redemption on either frees a place', async () => {
    const [a, b] = await twoInstances({ maxOutstandingTicketsPerProject: 2 });
    try {
      const first = expectMinted(await mint(a.baseUrl)).client_secret;
      expectMinted(await mint(b.baseUrl));
      expectError(await mint(a.baseUrl), 429, 'too_many_outstanding_tickets');
      expectError(await mint(b.baseUrl), 429, 'too_many_outstanding_tickets');
      const client = connect(b.baseUrl, { ticket: first });
      expect((await client.outcome).kind).toBe('open');
      await client.close();
      expectMinted(await mint(a.baseUrl));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('fails closed while Redis is frozen: minting answers 503 within the command timeout, never 200 past the cap', async () => {
    const [a, b] = await twoInstances({ maxOutstandingTicketsPerProject: 1 });
    try {
      expectMinted(await mint(a.baseUrl));
      server.pause();
      const started = performance.now();
      expectError(await mint(b.baseUrl), 503, 'ticket_store_unavailable');
      expect(performance.now() - started).toBeLessThan(2000);
      server.resume();
      // Back: the cap still counts the ticket minted before the outage, on both instances.
      let result = await mint(b.baseUrl);
      for (let i = 0; result.status === 503 && i < 40; i += 1) {
        await sleep(100);
        result = await mint(b.baseUrl);
      }
      expectError(result, 429, 'too_many_outstanding_tickets');
      expectError(await mint(a.baseUrl), 429, 'too_many_outstanding_tickets');
    } finally {
      server.resume();
      await Promise.all([a.close(), b.close()]);
    }
  });
});
