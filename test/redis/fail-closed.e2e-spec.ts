// Fail closed with bounded waiting (issue 5): when Redis freezes (SIGSTOP) or dies, minting answers
// 503 and upgrades answer 503 within the command timeout, no request hangs, no ticket is ever
// redeemed twice, and the gateway serves again by itself once Redis is back.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { RealtimeSessionsModule, type RealtimeSessionsModuleOptions } from '../../src/index.js';
import { createHttpApp, PLATFORMS, type HttpApp, type Platform } from '../helpers/http-app.js';
import { expectError, request, type HttpResult } from '../helpers/mint-client.js';
import { RUNTIME_KEY } from '../helpers/realtime-app.js';
import { describeWithRedisProcess, SILENT_LOGGER, startRedisServer, uniquePrefix, type RedisServer } from '../helpers/redis-server.js';
import { connect, mintTicket, type RealtimeTestClient } from '../helpers/ws-client.js';

const COMMAND_TIMEOUT_MS = 300;
/** What "within the command timeout" allows on top of it: scheduling, HTTP, a loaded CI machine. */
const SLACK_MS = 700;
const LOOPBACK = { model: 'loopback/echo' };

const timings: string[] = [];

/** The app under test; its logger is silenced, since every outage here is on purpose. */
function startApp(platform: Platform, options: RealtimeSessionsModuleOptions): Promise<HttpApp> {
  return createHttpApp(platform, RealtimeSessionsModule.forRoot({ apiKeys: [RUNTIME_KEY], loopback: true, ...options }), {
    configure: (builder) => builder.setLogger(SILENT_LOGGER),
  });
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await fn();
  return [result, Math.round(performance.now() - started)];
}

/** The refusal of an upgrade, with its error code; fails if the socket opened instead. */
async function refusal(client: RealtimeTestClient): Promise<{ status: number; code: string | undefined }> {
  const rejected = await client.rejected();
  return { status: rejected.status, code: (rejected.json as { error?: { code?: string } } | undefined)?.error?.code };
}

/** Mints until it answers 200 (the store is back); resolves how long that took. */
async function untilMintWorks(baseUrl: string, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  let last: HttpResult | undefined;
  while (performance.now() - started < timeoutMs) {
    last = await request(baseUrl, { apiKey: RUNTIME_KEY.key, json: { config: LOOPBACK } });
    if (last.status === 200) return Math.round(performance.now() - started);
    expect(last.status).toBe(503); // never anything but "unavailable" meanwhile
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`minting did not recover within ${timeoutMs} ms; last answer ${last?.status} ${last?.text}`);
}

/** Tries a ticket on the socket `tries` times; resolves how many upgrades got a 101. */
async function redeemAttempts(baseUrl: string, ticket: string, tries: number): Promise<{ opened: number; statuses: number[] }> {
  const statuses: number[] = [];
  let opened = 0;
  for (let i = 0; i < tries; i += 1) {
    const client = connect(baseUrl, { ticket });
    const outcome = await client.outcome;
    if (outcome.kind === 'open') opened += 1;
    statuses.push(outcome.kind === 'open' ? 101 : outcome.kind === 'rejected' ? outcome.status : -1);
    await client.close();
  }
  return { opened, statuses };
}

describeWithRedisProcess('failing closed when Redis is unreachable', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterEach(async () => {
    // A failed test must not leave Redis frozen or down for the next one.
    server.resume();
    if (!server.running) await server.start();
  });

  afterAll(async () => {
    await server?.close();
    console.log(`Fail-closed timings (command timeout ${COMMAND_TIMEOUT_MS} ms):\n  ${timings.join('\n  ')}`);
  });

  describe.each(PLATFORMS)('on %s', (platform) => {
    let app: HttpApp;

    beforeAll(async () => {
      app = await startApp(platform, { redis: { url: server.url, keyPrefix: uniquePrefix(platform), commandTimeoutMs: COMMAND_TIMEOUT_MS } });
    });

    afterAll(async () => {
      await app?.close();
    });

    it('answers 503 within the command timeout while Redis is frozen, then serves again by itself', async () => {
      const mintedBefore = await mintTicket(app.baseUrl, { config: LOOPBACK });
      server.pause();

      const [mint, mintMs] = await timed(() => request(app.baseUrl, { apiKey: RUNTIME_KEY.key, json: { config: LOOPBACK } }));
      expectError(mint, 503, 'ticket_store_unavailable');
      expect(mintMs).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);

      const [ticketUpgrade, ticketMs] = await timed(() => refusal(connect(app.baseUrl, { ticket: mintedBefore })));
      expect(ticketUpgrade).toEqual({ status: 503, code: 'ticket_store_unavailable' });
      expect(ticketMs).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);

      // A bearer upgrade needs no ticket, but its session lease lives in Redis too.
      const [bearerUpgrade, bearerMs] = await timed(() => refusal(connect(app.baseUrl, { bearer: RUNTIME_KEY.key })));
      expect(bearerUpgrade).toEqual({ status: 503, code: 'session_store_unavailable' });
      expect(bearerMs).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);

      // Past the socket timeout the frozen connection is dropped and re-opened: still 503, still bounded.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const [lateMint, lateMintMs] = await timed(() => request(app.baseUrl, { apiKey: RUNTIME_KEY.key }));
      expectError(lateMint, 503, 'ticket_store_unavailable');
      expect(lateMintMs).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);

      server.resume();
      const recoveryMs = await untilMintWorks(app.baseUrl);
      const client = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, { config: LOOPBACK }) });
      await client.opened();
      await client.start({});
      await client.close();

      // The ticket whose redemption timed out may have been taken by then (Redis ran the command
      // on waking up) or not: either way, it opens at most one socket, ever.
      const afterwards = await redeemAttempts(app.baseUrl, mintedBefore, 3);
      expect(afterwards.opened).toBeLessThanOrEqual(1);
      expect(afterwards.statuses.at(-1)).toBe(401);

      timings.push(
        `${platform}, Redis frozen: mint 503 in ${mintMs} ms, ticket upgrade 503 in ${ticketMs} ms, ` +
          `bearer upgrade 503 in ${bearerMs} ms, mint 503 in ${lateMintMs} ms after 2.5 s frozen; serving again ${recoveryMs} ms after SIGCONT`,
      );
    });

    it('answers 503 at once while Redis is down, and serves again by itself once it restarts', async () => {
      const mintedBefore = await mintTicket(app.baseUrl, { config: LOOPBACK });
      await server.stop();

      const [mint, mintMs] = await timed(() => request(app.baseUrl, { apiKey: RUNTIME_KEY.key }));
      expectError(mint, 503, 'ticket_store_unavailable');
      expect(mintMs).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);

      const [ticketUpgrade, ticketMs] = await timed(() => refusal(connect(app.baseUrl, { ticket: mintedBefore })));
      expect(ticketUpgrade).toEqual({ status: 503, code: 'ticket_store_unavailable' });
      expect(ticketMs).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);

      const [bearerUpgrade, bearerMs] = await timed(() => refusal(connect(app.baseUrl, { bearer: RUNTIME_KEY.key })));
      expect(bearerUpgrade).toEqual({ status: 503, code: 'session_store_unavailable' });

      await server.start(); // same port, empty: tickets minted before are gone
      const recoveryMs = await untilMintWorks(app.baseUrl);

      const lost = await redeemAttempts(app.baseUrl, mintedBefore, 1);
      expect(lost).toEqual({ opened: 0, statuses: [401] });
      const client = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, { config: LOOPBACK }) });
      await client.opened();
      await client.start({});
      await client.close();

      timings.push(
        `${platform}, Redis down: mint 503 in ${mintMs} ms, ticket upgrade 503 in ${ticketMs} ms, ` +
          `bearer upgrade 503 in ${bearerMs} ms; serving again ${recoveryMs} ms after the restart`,
      );
    });
  });

  it('starts while Redis is down (bounded wait), answers 503 meanwhile, and serves once Redis is up', async () => {
    await server.stop();
    const [app, startMs] = await timed(() =>
      startApp('express', { redis: { url: server.url, keyPrefix: uniquePrefix(), commandTimeoutMs: COMMAND_TIMEOUT_MS, connectTimeoutMs: 500 } }),
    );
    try {
      expect(startMs).toBeLessThan(500 + 2000);
      expectError(await request(app.baseUrl, { apiKey: RUNTIME_KEY.key }), 503, 'ticket_store_unavailable');
      await server.start();
      const recoveryMs = await untilMintWorks(app.baseUrl);
      timings.push(`started with Redis down in ${startMs} ms; serving ${recoveryMs} ms after Redis came up`);
    } finally {
      await app.close();
    }
  });
});
