// Redis faults the fail-closed suite (SIGSTOP / kill / restart) does not cover, on a real
// redis-server, each with its stated outcome:
//   - `CLIENT PAUSE … ALL` (Redis up and accepting connections, answering nothing) during a mint and
//     during a redemption → 503 `ticket_store_unavailable` within the command timeout (+ slack), never
//     a 200 or a 101 for a ticket the store did not confirm; once the pause ends, the gateway serves
//     again by itself, and the ticket whose redemption timed out opens at most one socket, ever
//     (Redis runs the queued GETDEL when it wakes: the ticket may be spent without a socket — fail
//     closed);
//   - `CLIENT PAUSE … WRITE` (reads answered, writes held): the same, since minting and redeeming
//     both write;
//   - `CLIENT PAUSE … ALL` while a session holds its slot, across a lease refresh → the refresh
//     times out (logged, retried), the session keeps working during the pause, and after it the
//     lease is there (refreshed or re-added): the count is 1 and a second session is refused 1013;
//   - Redis restarted empty (no persistence) while a session holds its slot → the next lease
//     refresh re-adds the lease: the live session keeps working and keeps its slot (a second
//     session over `maxSessionsPerProject: 1` gets `session_limit_reached` and close 1013), the
//     count is 1, and 0 once the session ends.
// On Express and Fastify.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { RedisSessionLimiter, SessionLimiter } from '../../src/index.js';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { request } from '../helpers/mint-client.js';
import { RUNTIME_KEY, startRealtimeApp } from '../helpers/realtime-app.js';
import { describeWithRedisProcess, inspectionClient, SILENT_LOGGER, startRedisServer, uniquePrefix, type RedisServer } from '../helpers/redis-server.js';
import { connect, MARKER_PROTOCOL, mintTicket, sleep, type RealtimeTestClient } from '../helpers/ws-client.js';

const COMMAND_TIMEOUT_MS = 300;
const SLACK_MS = 700;
const PAUSE_MS = 1500;
const LEASE_TTL_MS = 1500; // refreshed every 500 ms
const LOOPBACK = { model: 'loopback/echo' };
const PROJECT = RUNTIME_KEY.projectId!;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await fn();
  return [result, Math.round(performance.now() - started)];
}

/** Pauses every client but the one asking (it is paused too; the pause simply expires). */
async function clientPause(admin: Redis, mode: 'ALL' | 'WRITE'): Promise<void> {
  await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), mode);
}

/** Mints until a 200 (only 503s meanwhile); resolves how long that took. */
async function untilMintWorks(baseUrl: string, timeoutMs = 5000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const result = await request(baseUrl, { apiKey: RUNTIME_KEY.key, json: { config: LOOPBACK } });
    if (result.status === 200) return Math.round(performance.now() - started);
    expect(result.status).toBe(503);
    if (performance.now() - started > timeoutMs) throw new Error(`minting did not recover within ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function echoes(client: RealtimeTestClient, text: string): Promise<void> {
  client.send({ type: 'text.input', text });
  client.send({ type: 'response.create' });
  await client.nextWhere((e) => e.type === 'text.delta' && e.delta === text, `the echo of "${text}"`);
}

/**
 * After a fault: the live session's lease is back within two TTLs (refreshed or re-added), the
 * session still echoes, a second session is refused (1013, docs/protocol.md §3: the slot is still
 * taken), and once the live session closes the count is 0.
 */
async function expectSlotKeptThenFreed(app: HttpApp, limiter: RedisSessionLimiter, live: RealtimeTestClient, text: string): Promise<void> {
  const deadline = Date.now() + LEASE_TTL_MS * 2;
  let count = 0;
  while (Date.now() < deadline) {
    count = await limiter.count(PROJECT).catch(() => 0);
    if (count === 1) break;
    await sleep(50);
  }
  expect(count).toBe(1);
  await echoes(live, text);
  const second = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, { config: LOOPBACK }) });
  await second.opened();
  expect(await second.next('session.terminating')).toMatchObject({ error: { code: 'session_limit_reached' } });
  expect((await second.closed).code).toBe(1013);

  await live.close();
  const after = Date.now() + 2000;
  while (Date.now() < after && (await limiter.count(PROJECT)) !== 0) await sleep(50);
  expect(await limiter.count(PROJECT)).toBe(0);
}

describeWithRedisProcess('Redis faults: CLIENT PAUSE and a restart during a lease refresh', () => {
  let server: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    admin = await inspectionClient(server.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.close();
  });

  describe.each(PLATFORMS)('on %s', (platform) => {
    let app: HttpApp;
    const prefix = uniquePrefix(`faults-${platform}`);

    beforeAll(async () => {
      app = await startRealtimeApp(platform, {
        redis: { url: server.url, keyPrefix: prefix, commandTimeoutMs: COMMAND_TIMEOUT_MS, sessionLeaseTtlMs: LEASE_TTL_MS },
        limits: { maxSessionsPerProject: 1 },
      });
      app.app.useLogger(SILENT_LOGGER);
      // Healthy first (connection up): the faults below start from a working store.
      await untilMintWorks(app.baseUrl, 10_000);
    });
    afterAll(async () => {
      await app?.close();
    });
    afterEach(async () => {
      // A failed test must not leave the next one paused or down.
      if (!server.running) await server.start();
    });

    it.each(['ALL', 'WRITE'] as const)('CLIENT PAUSE %s during a mint and a redemption: 503 within the command timeout, at most one socket per ticket, then serves again', async (mode) => {
      const minted = await mintTicket(app.baseUrl, { config: LOOPBACK });
      await clientPause(admin, mode);
      const pausedAt = performance.now();

      const [mint, mintMs] = await timed(() => request(app.baseUrl, { apiKey: RUNTIME_KEY.key, json: { config: LOOPBACK } }));
      expect(mint.status).toBe(503);
      expect((mint.json as { error: { code: string } }).error.code).toBe('ticket_store_unavailable');
      expect(mintMs).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);

      const upgrade = connect(app.baseUrl, { ticket: minted });
      const [outcome, upgradeMs] = await timed(() => upgrade.outcome);
      expect(outcome).toMatchObject({ kind: 'rejected', status: 503, json: { error: { code: 'ticket_store_unavailable' } } });
      expect(upgradeMs).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);
      expect(performance.now() - pausedAt).toBeLessThan(PAUSE_MS); // both answered while Redis was still paused

      // The pause ends by itself: minting and sessions work again, without a restart, within the
      // reconnect (a connection silent past the socket timeout was dropped; it reconnects within 1 s).
      await sleep(Math.max(0, PAUSE_MS - (performance.now() - pausedAt)));
      const recoveryMs = await untilMintWorks(app.baseUrl);
      expect(recoveryMs).toBeLessThan(3000);
      const fresh = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, { config: LOOPBACK }) });
      await fresh.opened();
      await fresh.start(LOOPBACK);
      await echoes(fresh, 'after the pause');
      await fresh.close();

      // The ticket whose redemption timed out was spent when Redis woke up, or not: at most one socket.
      let opened = 0;
      for (let i = 0; i < 3; i += 1) {
        const retry = connect(app.baseUrl, { ticket: minted });
        if ((await retry.outcome).kind === 'open') opened += 1;
        await retry.close();
      }
      expect(opened).toBeLessThanOrEqual(1);
    });

    it('CLIENT PAUSE ALL during a resume: 503 within the command timeout (fail closed), at most one socket per token', async () => {
      const client = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, { config: LOOPBACK }) });
      await client.opened();
      const started = await client.start(LOOPBACK);
      const token = String(started.resume_token);
      client.ws.terminate();
      await sleep(100);
      await clientPause(admin, 'ALL');
      const pausedAt = performance.now();
      const resume = () => connect(app.baseUrl, { protocols: [MARKER_PROTOCOL, `opper-resume.${token}`] });
      const [outcome, resumeMs] = await timed(() => resume().outcome);
      expect(outcome).toMatchObject({ kind: 'rejected', status: 503, json: { error: { code: 'session_store_unavailable' } } });
      expect(resumeMs).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);
      await sleep(Math.max(0, PAUSE_MS - (performance.now() - pausedAt)));
      await untilMintWorks(app.baseUrl);
      // The timed-out take ran when Redis woke up, or not: the token opens at most one socket.
      let opened = 0;
      for (let i = 0; i < 2; i += 1) {
        const retry = resume();
        if ((await retry.outcome).kind === 'open') opened += 1;
        await retry.close();
      }
      expect(opened).toBeLessThanOrEqual(1);
    });

    it('CLIENT PAUSE across a lease refresh: the session keeps working, and keeps its slot once Redis answers', async () => {
      const limiter = app.app.get(SessionLimiter) as RedisSessionLimiter;
      const live = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, { config: LOOPBACK }) });
      await live.opened();
      await live.start(LOOPBACK);
      expect(await limiter.count(PROJECT)).toBe(1);

      // Shorter than the lease TTL, longer than a refresh interval (TTL / 3) plus the command timeout:
      // at least one refresh runs into the pause and times out.
      const pauseMs = 1000;
      await admin.call('CLIENT', 'PAUSE', String(pauseMs), 'ALL');
      const pausedAt = performance.now();
      await echoes(live, 'during the pause');
      expect(performance.now() - pausedAt).toBeLessThan(pauseMs); // answered while Redis was still paused

      await sleep(Math.max(0, pauseMs - (performance.now() - pausedAt)));
      await expectSlotKeptThenFreed(app, limiter, live, 'after the pause');
    });

    it('Redis restarted empty while a session holds its slot: the refresh re-adds the lease, the session keeps working and its slot', async () => {
      const limiter = app.app.get(SessionLimiter) as RedisSessionLimiter;
      expect(limiter).toBeInstanceOf(RedisSessionLimiter);
      const live = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, { config: LOOPBACK }) });
      await live.opened();
      await live.start(LOOPBACK);
      expect(await limiter.count(PROJECT)).toBe(1);

      await server.stop();
      await server.start(); // empty: no persistence
      await expectSlotKeptThenFreed(app, limiter, live, 'still here');
      // And the slot is free again.
      const third = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, { config: LOOPBACK }) });
      await third.opened();
      await third.start(LOOPBACK);
      await echoes(third, 'a free slot');
      await third.close();
    });
  });
});
