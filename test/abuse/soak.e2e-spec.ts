// Bounded soak (issue 11): for SOAK_SECONDS (10 s in `npm test`, 60 s with `npm run soak`), keep
// SOAK_SESSIONS (200) sessions going at once on `loopback/echo` and on the OpenAI fake, over Redis,
// with random client misbehaviour (garbage frames, binary frames, abrupt resets, never starting)
// and random upstream faults (reset, close mid-response, error event). Then, after GC: heap and RSS
// within 10 % of the baseline, and sockets, timers, upstream and Redis connections back to their
// baseline counts. Loopback addresses only. The numbers are printed.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RealtimeEndpoint, SessionRegistry } from '../../src/index.js';
import { OpenAiProvider } from '../../src/providers/openai/index.js';
import { startOpenAiFake, type OpenAiFake } from '../fakes/openai-fake.js';
import type { HttpApp } from '../helpers/http-app.js';
import { startRealtimeApp } from '../helpers/realtime-app.js';
import { describeWithRedisProcess, SILENT_LOGGER, startRedisServer, uniquePrefix, type RedisServer } from '../helpers/redis-server.js';
import { connect, eventually, mintTicket, sleep } from '../helpers/ws-client.js';

const SECONDS = Number(process.env.SOAK_SECONDS) || 10;
const CONCURRENCY = Number(process.env.SOAK_SESSIONS) || 200;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Snapshot {
  heapUsed: number;
  rss: number;
  sockets: number;
  timers: number;
  upstreamOpen: number;
  redisClients: number;
}

function random<T>(items: T[]): T {
  return items[Math.floor(Math.random() * items.length)];
}

describeWithRedisProcess('soak', () => {
  let redis: RedisServer;
  let fake: OpenAiFake;
  let app: HttpApp;
  let inspect: Redis;

  beforeAll(async () => {
    redis = await startRedisServer();
    fake = await startOpenAiFake({ streamIntervalMs: 2 });
    app = await startRealtimeApp('express', {
      providers: [new OpenAiProvider({ apiKey: 'sk-test', baseUrl: fake.httpUrl })],
      redis: { url: redis.url, keyPrefix: uniquePrefix('soak') },
      limits: { maxSessionsPerProject: 100_000, startTimeoutSeconds: 2 },
    });
    app.app.useLogger(SILENT_LOGGER);
    inspect = new Redis(redis.url);
  });
  afterAll(async () => {
    await app?.close();
    await fake?.close();
    inspect?.disconnect();
    await redis?.close();
  });

  async function snapshot(): Promise<Snapshot> {
    for (let i = 0; i < 3; i += 1) {
      gc();
      await sleep(50);
    }
    const resources = process.getActiveResourcesInfo();
    const clients = String(await inspect.call('CLIENT', 'LIST')).trim().split('\n').length;
    return {
      heapUsed: process.memoryUsage().heapUsed,
      rss: process.memoryUsage().rss,
      sockets: resources.filter((r) => r === 'TCPSocketWrap').length,
      timers: resources.filter((r) => r === 'Timeout').length,
      upstreamOpen: fake.connections.filter((c) => c.ws.readyState === c.ws.OPEN).length,
      redisClients: clients,
    };
  }

  /** One session with a random model, a random misbehaviour and a random upstream fault. */
  async function oneSession(stats: Map<string, number>): Promise<void> {
    const model = random(['loopback/echo', 'openai/gpt-realtime-2']);
    const ticket = await mintTicket(app.baseUrl, { config: { model } });
    const client = connect(app.baseUrl, { ticket });
    const behaviour = random(['polite', 'polite', 'garbage', 'binary', 'reset', 'never-start', 'upstream-fault']);
    stats.set(behaviour, (stats.get(behaviour) ?? 0) + 1);
    try {
      if ((await client.outcome).kind !== 'open') return;
      if (behaviour === 'never-start') {
        await sleep(Math.random() * 500);
        return;
      }
      const before = fake.connections.length;
      client.send({ type: 'session.start', config: { model } });
      await client.next('session.started', 5000).catch(() => undefined);
      if (behaviour === 'garbage') for (let i = 0; i < 5; i += 1) client.sendRaw(random(['{', 'null', '[]', '{"type":7}', '{"type":"nope"}', '{"type":"audio.append","audio":"!!"}']));
      if (behaviour === 'binary') client.sendRaw(Buffer.from([0, 1, 2, 3]));
      client.send({ type: 'text.input', text: 'hello' });
      client.send({ type: 'response.create' });
      if (behaviour === 'upstream-fault' && model !== 'loopback/echo') {
        const conn = fake.connections[before];
        if (conn) random([() => conn.terminate(), () => conn.close(1011, 'boom'), () => conn.injectError({ code: 'server_error', message: 'boom', type: 'server_error' })])();
      }
      await sleep(Math.random() * 300);
      if (behaviour === 'reset') client.ws.terminate();
    } finally {
      if (client.ws.readyState === client.ws.OPEN) await client.close();
      else client.ws.terminate();
    }
  }

  it(
    `${CONCURRENCY} concurrent sessions for ${SECONDS} s with faults leave heap, RSS, sockets, timers and connections at baseline`,
    async () => {
      const stats = new Map<string, number>();
      const endpoint = app.app.get(RealtimeEndpoint);
      const registry = app.app.get(SessionRegistry);
      await oneSession(new Map()); // warm-up: lazily created pools and timers belong to the baseline
      await eventually(() => registry.activeSessions === 0 && endpoint.connectedSockets === 0, 'the warm-up session is gone', 10_000);
      fake.connections.splice(0);
      fake.upgrades.splice(0);
      await sleep(500);
      const before = await snapshot();

      const deadline = Date.now() + SECONDS * 1000;
      let sessions = 0;
      const worker = async () => {
        while (Date.now() < deadline) {
          sessions += 1;
          await oneSession(stats);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      await eventually(() => registry.activeSessions === 0 && endpoint.connectedSockets === 0, 'every session ended', 15_000);
      await eventually(() => fake.connections.every((c) => c.ws.readyState === c.ws.CLOSED), 'every upstream closed', 15_000);
      // The fake keeps every connection with its whole history (test state, not the gateway's): drop it.
      fake.connections.splice(0);
      fake.upgrades.splice(0);
      await sleep(1000);
      const after = await snapshot();

      const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;
      console.log(
        `soak ${SECONDS} s, ${CONCURRENCY} concurrent, ${sessions} sessions (${JSON.stringify(Object.fromEntries(stats))}):\n` +
          `  heap ${mb(before.heapUsed)} → ${mb(after.heapUsed)}; RSS ${mb(before.rss)} → ${mb(after.rss)}\n` +
          `  sockets ${before.sockets} → ${after.sockets}; timers ${before.timers} → ${after.timers}; ` +
          `upstream open ${before.upstreamOpen} → ${after.upstreamOpen}; Redis clients ${before.redisClients} → ${after.redisClients}`,
      );
      expect(sessions).toBeGreaterThan(CONCURRENCY);
      expect(after.heapUsed).toBeLessThan(before.heapUsed * 1.1);
      expect(after.rss).toBeLessThan(before.rss * 1.1);
      expect(after.sockets).toBeLessThanOrEqual(before.sockets);
      expect(after.timers).toBeLessThanOrEqual(before.timers);
      expect(after.upstreamOpen).toBe(0);
      expect(after.redisClients).toBe(before.redisClients);
    },
    (SECONDS + 90) * 1000,
  );
});
