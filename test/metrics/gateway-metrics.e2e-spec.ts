// The gateway's metrics as an operator reads them, over real HTTP and WebSocket on Express and
// Fastify with `metrics: true`: each redemption outcome moves its counter by exactly one (in memory,
// and on Redis with two instances, where a replay on the other instance is still a replay), mints
// are counted by status and code (guard and body-parser failures included), and one loopback
// session moves the session metrics.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { generateTicketSecret, METRIC_NAMES, RealtimeMetrics, RealtimeSessionsModule } from '../../src/index.js';
import { createHttpApp, PLATFORMS, withHttpApp, type HttpApp, type Platform } from '../helpers/http-app.js';
import { request } from '../helpers/mint-client.js';
import { RUNTIME_KEY, startRealtimeApp, withRealtimeApp } from '../helpers/realtime-app.js';
import { describeWithRedis, startRedisServer, uniquePrefix, type RedisServer } from '../helpers/redis-server.js';
import { closeAll, connect, mintTicket, sleep, type RealtimeTestClient } from '../helpers/ws-client.js';
import { parsePrometheusText, valueOf, type Sample } from './prometheus-text.js';

Logger.overrideLogger(false);

const OUTCOMES = ['ok', 'replayed', 'unknown', 'expired'] as const;
const LOOPBACK = { config: { model: 'loopback/echo' } };

async function scrape(app: HttpApp): Promise<Sample[]> {
  const res = await fetch(`${app.baseUrl}/metrics`);
  expect(res.status).toBe(200);
  return parsePrometheusText(await res.text());
}

/** The redemption counter of each outcome, summed over the apps (0 when absent). */
async function redemptions(apps: HttpApp[]): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (const app of apps) {
    const samples = await scrape(app);
    for (const outcome of [...OUTCOMES, 'other']) totals[outcome] = (totals[outcome] ?? 0) + (valueOf(samples, METRIC_NAMES.redemptions, { outcome }) ?? 0);
  }
  return totals;
}

/**
 * One of each outcome: ok (mint on `minting`, redeem on `a`), replayed (the same ticket on `b`),
 * unknown (a secret never minted), expired (a 1 s ticket tried after 1.2 s).
 */
async function oneOfEach(minting: HttpApp, a: HttpApp, b: HttpApp, clients: RealtimeTestClient[]): Promise<void> {
  const ticket = await mintTicket(minting.baseUrl, LOOPBACK);
  const expiring = await mintTicket(minting.baseUrl, { ...LOOPBACK, ttl_seconds: 1 });
  const ok = connect(a.baseUrl, { ticket });
  clients.push(ok);
  await ok.opened();
  const replay = connect(b.baseUrl, { ticket });
  expect((await replay.rejected()).json).toMatchObject({ error: { code: 'invalid_ticket' } });
  const unknown = connect(a.baseUrl, { ticket: generateTicketSecret() });
  expect((await unknown.rejected()).json).toMatchObject({ error: { code: 'invalid_ticket' } });
  await sleep(1200);
  const late = connect(b.baseUrl, { ticket: expiring, via: 'query' });
  const refused = await late.rejected();
  // Outside, all three refusals are the same 401.
  expect(refused.status).toBe(401);
  expect(refused.json).toMatchObject({ error: { code: 'invalid_ticket' } });
}

describe.each(PLATFORMS)('metrics of a gateway with metrics: true (%s)', (platform: Platform) => {
  let app: HttpApp;
  const clients: RealtimeTestClient[] = [];

  beforeAll(async () => {
    app = await startRealtimeApp(platform, { metrics: true });
  });

  afterAll(async () => {
    await closeAll(clients);
    await app?.close();
  });

  it('moves each redemption outcome by exactly one for a run with one of each (in memory)', async () => {
    const before = await redemptions([app]);
    await oneOfEach(app, app, app, clients);
    const after = await redemptions([app]);
    for (const outcome of OUTCOMES) expect(`${outcome} ${after[outcome] - before[outcome]}`).toBe(`${outcome} 1`);
    expect(after.other - before.other).toBe(0);
    const samples = await scrape(app);
    expect(valueOf(samples, `${METRIC_NAMES.mintToRedemption}_count`)).toBeGreaterThanOrEqual(1);
    // The expired ticket was found expired at its redemption: counted once, the sweep will not count it again.
    expect(valueOf(samples, METRIC_NAMES.expiredUnredeemed)).toBe(1);
    await closeAll(clients.splice(0));
  });

  it('counts mints by status and code: success, bad key (guard), malformed JSON (body parser), bad field', async () => {
    const count = async (status: string, code: string) => valueOf(await scrape(app), METRIC_NAMES.mints, { status, code }) ?? 0;
    const before = { ok: await count('200', 'ok'), key: await count('401', 'invalid_api_key'), json: await count('400', 'invalid_json'), ttl: await count('400', 'invalid_ttl') };
    expect((await request(app.baseUrl, { apiKey: RUNTIME_KEY.key, json: LOOPBACK })).status).toBe(200);
    expect((await request(app.baseUrl, { apiKey: 'rtk-not-a-key', json: LOOPBACK })).status).toBe(401);
    expect((await request(app.baseUrl, { apiKey: RUNTIME_KEY.key, body: '{"config":', contentType: 'application/json' })).status).toBe(400);
    expect((await request(app.baseUrl, { apiKey: RUNTIME_KEY.key, json: { ttl_seconds: 1.5 } })).status).toBe(400);
    // Not a mint: a GET on the path is a 405 and is not counted.
    expect((await request(app.baseUrl, { method: 'GET' })).status).toBe(405);
    expect(await count('200', 'ok')).toBe(before.ok + 1);
    expect(await count('401', 'invalid_api_key')).toBe(before.key + 1);
    expect(await count('400', 'invalid_json')).toBe(before.json + 1);
    expect(await count('400', 'invalid_ttl')).toBe(before.ttl + 1);
    expect(valueOf(await scrape(app), METRIC_NAMES.mints, { status: '405', code: 'method_not_allowed' })).toBeUndefined();
  });

  it('moves the session metrics for one loopback session: live gauge up then down, duration, frames both ways', async () => {
    const labels = { provider: 'loopback', model: 'loopback/echo' };
    const before = await scrape(app);
    const framesBefore = (direction: string) => valueOf(before, METRIC_NAMES.relayedFrames, { direction }) ?? 0;
    const durationsBefore = valueOf(before, `${METRIC_NAMES.sessionDuration}_count`, { provider: 'loopback', end_reason: 'client_closed' }) ?? 0;

    const client = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, LOOPBACK) });
    clients.push(client);
    await client.opened();
    await client.start({});
    const pcm = Buffer.alloc(4800, 1);
    client.send({ type: 'audio.append', audio: pcm.toString('base64') });
    client.send({ type: 'audio.commit' });
    await client.next('audio.delta');
    const during = await scrape(app);
    expect(valueOf(during, METRIC_NAMES.sessionsActive, labels)).toBe(1);
    expect(valueOf(during, `${METRIC_NAMES.upstreamConnect}_count`, { provider: 'loopback' })).toBeGreaterThanOrEqual(1);
    await client.close();

    let after: Sample[] = [];
    for (let i = 0; i < 50; i += 1) {
      after = await scrape(app);
      if (valueOf(after, METRIC_NAMES.sessionsActive, labels) === 0) break;
      await sleep(20);
    }
    expect(valueOf(after, METRIC_NAMES.sessionsActive, labels)).toBe(0);
    expect(valueOf(after, `${METRIC_NAMES.sessionDuration}_count`, { provider: 'loopback', end_reason: 'client_closed' })).toBe(durationsBefore + 1);
    // session.start, audio.append, audio.commit in; session.started and the echo out.
    expect(valueOf(after, METRIC_NAMES.relayedFrames, { direction: 'client_to_upstream' })! - framesBefore('client_to_upstream')).toBe(3);
    expect(valueOf(after, METRIC_NAMES.relayedFrames, { direction: 'upstream_to_client' })! - framesBefore('upstream_to_client')).toBeGreaterThanOrEqual(3);
    expect(valueOf(after, METRIC_NAMES.relayedBytes, { direction: 'client_to_upstream' })!).toBeGreaterThan(pcm.length);
  });

  it('counts field_locked refusals by field, and upstream connect failures by provider and code', async () => {
    const samples = async () => scrape(app);
    const locked = async () => valueOf(await samples(), METRIC_NAMES.fieldLocked, { field: 'voice' }) ?? 0;
    const failed = async () => valueOf(await samples(), METRIC_NAMES.upstreamConnectFailures, { provider: 'openai', code: 'upstream_unavailable' }) ?? 0;
    const [lockedBefore, failedBefore] = [await locked(), await failed()];

    const client = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, { config: { model: 'loopback/echo', voice: 'echo' }, locked_fields: ['voice'] }) });
    clients.push(client);
    await client.opened();
    await client.start({ voice: 'marin' });
    await client.nextError('field_locked');
    expect(await locked()).toBe(lockedBefore + 1);

    // The test app's OpenAI points at a closed port: the upstream cannot connect.
    const doomed = connect(app.baseUrl, { ticket: await mintTicket(app.baseUrl, { config: { model: 'openai/gpt-realtime-2' } }) });
    clients.push(doomed);
    await doomed.opened();
    doomed.send({ type: 'session.start', config: {} });
    const terminating = await doomed.next('session.terminating', 10_000);
    expect(terminating).toMatchObject({ error: { code: 'upstream_unavailable' } });
    expect(await failed()).toBe(failedBefore + 1);
    await closeAll(clients.splice(0));
  });
});

describe.each(PLATFORMS)('the metrics option (%s)', (platform: Platform) => {
  it('is off by default: no /metrics route, RealtimeMetrics injectable and recording nothing', async () => {
    await withRealtimeApp(platform, {}, async (app) => {
      expect((await fetch(`${app.baseUrl}/metrics`)).status).toBe(404);
      const metrics = app.app.get(RealtimeMetrics);
      expect(metrics.enabled).toBe(false);
      await mintTicket(app.baseUrl, LOOPBACK);
      expect(metrics.registry.getMetricsAsArray()).toEqual([]);
    });
  });

  it('from forRootAsync: registers into the host registry, served on the path asked for', async () => {
    const registry = new Registry();
    new Counter({ name: 'host_jobs_total', help: 'host', registers: [registry] }).inc(3);
    const module = RealtimeSessionsModule.forRootAsync({
      useFactory: async () => ({ apiKeys: [RUNTIME_KEY], loopback: true, metrics: { registry, path: '/internal/prom' } }),
    });
    await withHttpApp(createHttpApp(platform, module), async (app) => {
      expect((await fetch(`${app.baseUrl}/metrics`)).status).toBe(404);
      await mintTicket(app.baseUrl, LOOPBACK);
      const res = await fetch(`${app.baseUrl}/internal/prom`);
      expect(res.status).toBe(200);
      const samples = parsePrometheusText(await res.text());
      expect(valueOf(samples, 'host_jobs_total')).toBe(3);
      expect(valueOf(samples, METRIC_NAMES.mints, { status: '200', code: 'ok' })).toBe(1);
      expect(app.app.get(RealtimeMetrics).registry).toBe(registry);
    });
  });
});

describeWithRedis('redemption outcomes on Redis with two instances', () => {
  let server: RedisServer;
  const apps: HttpApp[] = [];
  const clients: RealtimeTestClient[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    await closeAll(clients);
    await Promise.all(apps.map((a) => a.close()));
    await server?.close();
  });

  it.each(PLATFORMS)('counts each outcome exactly once over both instances; a replay on the other instance is replayed (%s)', async (platform) => {
    const redis = { url: server.url, keyPrefix: uniquePrefix('metrics') };
    const [a, b] = await Promise.all([startRealtimeApp(platform, { metrics: true, redis }), startRealtimeApp(platform, { metrics: true, redis })]);
    apps.push(a, b);
    const before = await redemptions([a, b]);
    await oneOfEach(a, a, b, clients);
    const after = await redemptions([a, b]);
    for (const outcome of OUTCOMES) expect(`${outcome} ${after[outcome] - before[outcome]}`).toBe(`${outcome} 1`);
    // The replay was refused on b, whose process never saw the ticket.
    expect(valueOf(await scrape(b), METRIC_NAMES.redemptions, { outcome: 'replayed' })).toBe(1);
    expect(valueOf(await scrape(b), METRIC_NAMES.expiredUnredeemed)).toBe(1);
  });
});
