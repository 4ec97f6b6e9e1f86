// Health and drain as RealtimeSessionsModule wires them, over real HTTP and real sockets on Express
// and Fastify: /health/ready follows a real redis-server (503 within the command timeout when it is
// stopped, 200 again when it is back), the session limiter is checked on its own, the routes are
// opt-in, and a drain refuses mints and upgrades with 503 `server_draining` (the refused ticket
// still works on another instance) while a live session keeps streaming until the drain timeout
// ends it with `server_shutdown` + 1001.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DrainState,
  drainRealtimeSessions,
  InMemorySessionLimiter,
  InMemoryTicketRepository,
  RealtimeSessionsModule,
  SessionRegistry,
  type RealtimeSessionsModuleOptions,
} from '../../src/index.js';
import { createHttpApp, PLATFORMS, withHttpApp, type HttpApp, type Platform } from '../helpers/http-app.js';
import { expectError, request } from '../helpers/mint-client.js';
import { RUNTIME_KEY, startRealtimeApp, withRealtimeApp } from '../helpers/realtime-app.js';
import { describeWithRedisProcess, SILENT_LOGGER, startRedisServer, uniquePrefix, type RedisServer } from '../helpers/redis-server.js';
import { connect, eventually, mintTicket, type RealtimeTestClient } from '../helpers/ws-client.js';

const LOOPBACK = { model: 'loopback/echo' };
const COMMAND_TIMEOUT_MS = 300;
/** What "within the command timeout" allows on top of it: scheduling, HTTP, a loaded machine. */
const SLACK_MS = 700;

async function ready(baseUrl: string): Promise<{ status: number; body: any; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${baseUrl}/health/ready`);
  return { status: res.status, body: await res.json(), ms: Math.round(performance.now() - started) };
}

async function untilReady(baseUrl: string, status: number, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const answer = await ready(baseUrl);
    if (answer.status === status) return Math.round(performance.now() - started);
    if (performance.now() - started > timeoutMs) throw new Error(`/health/ready stayed ${answer.status} (${JSON.stringify(answer.body)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The refusal of an upgrade, with its error code; fails if the socket opened instead. */
async function refusal(client: RealtimeTestClient): Promise<{ status: number; code: string | undefined }> {
  const rejected = await client.rejected();
  return { status: rejected.status, code: (rejected.json as { error?: { code?: string } } | undefined)?.error?.code };
}

/** A live loopback session: text in, the same text echoed back. */
async function liveSession(baseUrl: string, ticket?: string): Promise<RealtimeTestClient> {
  const client = connect(baseUrl, { ticket: ticket ?? (await mintTicket(baseUrl, { config: LOOPBACK })) });
  await client.opened();
  await client.start({});
  return client;
}

async function echoes(client: RealtimeTestClient, text: string): Promise<void> {
  client.send({ type: 'text.input', text });
  client.send({ type: 'response.create' });
  await client.next('response.completed');
  expect(client.ofType('text.delta').map((e) => e.delta)).toContain(text);
}

const timings: string[] = [];
afterAll(() => {
  if (timings.length) console.log(`Health timings (command timeout ${COMMAND_TIMEOUT_MS} ms):\n  ${timings.join('\n  ')}`);
});

describe.each(PLATFORMS)('module health on %s', (platform) => {
  it('is opt-in: no /health routes unless `health` is set', async () => {
    await withRealtimeApp(platform, {}, async (app) => {
      expect((await fetch(`${app.baseUrl}/health/ready`)).status).toBe(404);
      expect((await fetch(`${app.baseUrl}/health/live`)).status).toBe(404);
    });
  });

  it('`health: true` serves live and ready, checking the ticket store and the session limiter', async () => {
    await withRealtimeApp(platform, { health: true }, async (app) => {
      expect((await fetch(`${app.baseUrl}/health/live`)).status).toBe(200);
      const answer = await ready(app.baseUrl);
      expect(answer.status).toBe(200);
      expect(answer.body.info).toEqual({ ticket_store: expect.objectContaining({ status: 'up' }), session_limiter: expect.objectContaining({ status: 'up' }) });
    });
  });

  it('ready is 503 while the session limiter cannot answer, though the ticket store can; another path and timeout', async () => {
    let limiterUp = false;
    class FlakyLimiter extends InMemorySessionLimiter {
      override async ping(): Promise<void> {
        if (!limiterUp) throw new Error('limiter store unreachable');
      }
    }
    const options: RealtimeSessionsModuleOptions = { sessionLimiter: new FlakyLimiter(), health: { path: '/internal/health', checkTimeoutMs: 200 } };
    await withRealtimeApp(platform, options, async (app) => {
      const res = await fetch(`${app.baseUrl}/internal/health/ready`);
      const body = (await res.json()) as any;
      expect(res.status).toBe(503);
      expect(body.error).toEqual({ session_limiter: expect.objectContaining({ status: 'down', message: 'limiter store unreachable' }) });
      expect(body.info.ticket_store.status).toBe('up');
      limiterUp = true;
      expect((await fetch(`${app.baseUrl}/internal/health/ready`)).status).toBe(200);
    });
  });

  it('forRootAsync takes `health` beside useFactory, and refuses it from the factory', async () => {
    const asyncModule = RealtimeSessionsModule.forRootAsync({ useFactory: () => ({ apiKeys: [RUNTIME_KEY], loopback: true }), health: true });
    await withHttpApp(createHttpApp(platform, asyncModule), async (app) => {
      expect((await ready(app.baseUrl)).status).toBe(200);
    });
    const misplaced = RealtimeSessionsModule.forRootAsync({ useFactory: () => ({ apiKeys: [RUNTIME_KEY], health: true }) });
    await expect(createHttpApp(platform, misplaced)).rejects.toThrow(/give `health` beside useFactory/);
  });
});

describeWithRedisProcess('module readiness against a real Redis', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    await server?.close();
  });

  it.each(PLATFORMS)('%s: ready turns 503 within the command timeout when redis-server stops, and 200 when it is back', async (platform) => {
    const app = await createHttpApp(
      platform,
      RealtimeSessionsModule.forRoot({
        apiKeys: [RUNTIME_KEY],
        loopback: true,
        health: true,
        redis: { url: server.url, keyPrefix: uniquePrefix(platform), commandTimeoutMs: COMMAND_TIMEOUT_MS },
      }),
      { configure: (builder) => builder.setLogger(SILENT_LOGGER) },
    );
    try {
      const up = await ready(app.baseUrl);
      expect(up.status).toBe(200);
      expect(up.body.info).toEqual({ ticket_store: expect.objectContaining({ status: 'up' }), session_limiter: expect.objectContaining({ status: 'up' }) });

      await server.stop();
      const down = await ready(app.baseUrl);
      expect(down.status).toBe(503);
      expect(down.body.error.ticket_store.status).toBe('down');
      expect(down.body.error.session_limiter.status).toBe('down');
      expect(down.ms).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);
      expect((await fetch(`${app.baseUrl}/health/live`)).status).toBe(200);

      // Frozen rather than gone: the probe still answers within the command timeout.
      await server.start();
      await untilReady(app.baseUrl, 200);
      server.pause();
      const frozen = await ready(app.baseUrl);
      server.resume();
      expect(frozen.status).toBe(503);
      expect(frozen.body.error.ticket_store.status).toBe('down');
      expect(frozen.body.error.session_limiter.status).toBe('down');
      expect(frozen.ms).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);

      const recoveryMs = await untilReady(app.baseUrl, 200);
      timings.push(`${platform}: ready 503 in ${down.ms} ms after redis-server stopped, ${frozen.ms} ms while frozen; 200 again ${recoveryMs} ms after SIGCONT`);
    } finally {
      server.resume();
      if (!server.running) await server.start();
      await app.close();
    }
  });
});

describe.each(PLATFORMS)('drain started in the app on %s', (platform) => {
  const DRAIN_MS = 1500;

  it('refuses mints and upgrades with 503 server_draining without spending the ticket; a live session streams until the drain timeout ends it', async () => {
    // Two instances sharing one ticket store, as two gateway replicas behind a load balancer.
    const tickets = new InMemoryTicketRepository();
    const draining = await startRealtimeApp(platform, { health: true, drainTimeoutMs: DRAIN_MS, ticketRepository: tickets });
    let other: HttpApp | undefined;
    const clients: RealtimeTestClient[] = [];
    try {
      const live = await liveSession(draining.baseUrl);
      clients.push(live);
      const ticket = await mintTicket(draining.baseUrl, { config: LOOPBACK });

      const drainStarted = performance.now();
      const drained = drainRealtimeSessions(draining.app);
      expect(draining.app.get(DrainState).isDraining).toBe(true);

      const answer = await ready(draining.baseUrl);
      expect(answer.status).toBe(503);
      expect(answer.body.error.drain).toEqual({ status: 'down', message: 'draining' });
      expect((await fetch(`${draining.baseUrl}/health/live`)).status).toBe(200);

      expectError(await request(draining.baseUrl, { apiKey: RUNTIME_KEY.key, json: { config: LOOPBACK } }), 503, 'server_draining');
      const refused = connect(draining.baseUrl, { ticket });
      clients.push(refused);
      expect(await refusal(refused)).toEqual({ status: 503, code: 'server_draining' });
      expect(refused.wasUpgraded).toBe(false);
      const bearer = connect(draining.baseUrl, { bearer: RUNTIME_KEY.key });
      clients.push(bearer);
      expect(await refusal(bearer)).toEqual({ status: 503, code: 'server_draining' });

      // The refused ticket was not consumed: it opens a session on the other instance.
      other = await startRealtimeApp(platform, { ticketRepository: tickets });
      const moved = await liveSession(other.baseUrl, ticket);
      clients.push(moved);
      await echoes(moved, 'moved to another instance');

      // The live session keeps streaming during the drain.
      await echoes(live, 'still here while draining');
      expect(live.ofType('session.terminating')).toEqual([]);

      const terminating = await live.next('session.terminating', DRAIN_MS + 3000);
      const endedAfterMs = Math.round(performance.now() - drainStarted);
      expect((terminating as any).error.code).toBe('server_shutdown');
      expect((await live.closed).code).toBe(1001);
      expect(endedAfterMs).toBeGreaterThanOrEqual(DRAIN_MS - 50);
      await drained;
      expect(draining.app.get(SessionRegistry).activeSessions).toBe(0);
      timings.push(`${platform}: drain of ${DRAIN_MS} ms ended the live session after ${endedAfterMs} ms`);
    } finally {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await other?.close();
      await draining.close();
    }
  });

  it('ends early when the last session ends (no server_shutdown for it)', async () => {
    await withRealtimeApp(platform, { health: true, drainTimeoutMs: 60_000 }, async (app) => {
      const live = await liveSession(app.baseUrl);
      const drained = drainRealtimeSessions(app.app);
      let over = false;
      void drained.then(() => (over = true));
      await echoes(live, 'before closing');
      expect(over).toBe(false);
      await live.close();
      const started = performance.now();
      await drained;
      expect(performance.now() - started).toBeLessThan(2000);
      expect(live.ofType('session.terminating')).toEqual([]);
    });
  });

  it('a drain with no live session is over at once; closing the app afterwards works', async () => {
    await withRealtimeApp(platform, { drainTimeoutMs: 60_000 }, async (app) => {
      await drainRealtimeSessions(app.app);
      expectError(await request(app.baseUrl, { apiKey: RUNTIME_KEY.key }), 503, 'server_draining');
      await eventually(() => app.app.get(SessionRegistry).activeSessions === 0, 'no session');
    });
  });
});
