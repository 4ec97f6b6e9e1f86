// Warm upstreams (module option `warmUpstreams`, providers/warm-upstreams.ts): pre-connected
// provider sockets, over real sockets on both platforms, against the wire-faithful OpenAI fake with
// a connect delay (the fake answers every upgrade 300 ms late). A session takes a socket that was
// connected before its `session.start` and configures it with its own config; the pool refills,
// replaces idle sockets, drops sockets the provider closed, and leaves nothing open at shutdown.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { WarmUpstreams, type RealtimeSessionsModuleOptions } from '../../src/index.js';
import { METRIC_NAMES, RealtimeMetrics } from '../../src/metrics/index.js';
import { parsePrometheusText, valueOf } from '../metrics/prometheus-text.js';
import { startOpenAiFake, type OpenAiFake } from '../fakes/openai-fake.js';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { startRealtimeApp } from '../helpers/realtime-app.js';
import { closeAll, eventually, openWithTicket, sleep, type RealtimeTestClient } from '../helpers/ws-client.js';

const MODEL = 'openai/gpt-realtime-2';
const CONNECT_DELAY_MS = 300;
const TICKET = (instructions: string) => ({ config: { model: MODEL, instructions, voice: 'cedar' } });

function countResources(): { timeouts: number; sockets: number } {
  const resources = process.getActiveResourcesInfo();
  return { timeouts: resources.filter((r) => r === 'Timeout').length, sockets: resources.filter((r) => r === 'TCPSocketWrap').length };
}

/** The instructions and voice a fake connection was configured with (its session.update messages). */
function configuredWith(fake: OpenAiFake, index: number): { instructions?: string; voice?: string } {
  const updates = fake.connections[index].received.filter((m) => m.type === 'session.update');
  return { instructions: updates[0]?.session?.instructions, voice: updates[0]?.session?.audio?.output?.voice };
}

describe.each(PLATFORMS)('warm upstreams (%s)', (platform) => {
  let fake: OpenAiFake;
  let app: HttpApp | undefined;
  const clients: RealtimeTestClient[] = [];

  beforeAll(async () => {
    fake = await startOpenAiFake({ upgradeDelayMs: CONNECT_DELAY_MS });
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(async () => {
    await closeAll(clients.splice(0));
    await app?.close();
    app = undefined;
    // Every test starts with an empty fake.
    for (const conn of fake.connections.splice(0)) conn.terminate();
  });

  const start = async (warmUpstreams?: RealtimeSessionsModuleOptions['warmUpstreams']) => {
    app = await startRealtimeApp(platform, { openai: { apiKey: 'sk-test', baseUrl: fake.httpUrl }, metrics: true, ...(warmUpstreams ? { warmUpstreams } : {}) });
    return app;
  };
  const pool = () => app!.app.get(WarmUpstreams).pool!;
  const open = async (instructions: string) => {
    const client = await openWithTicket(app!.baseUrl, TICKET(instructions));
    clients.push(client);
    return client;
  };

  it('is off by default: nothing connects before session.start', async () => {
    await start();
    expect(app!.app.get(WarmUpstreams).pool).toBeUndefined();
    await sleep(CONNECT_DELAY_MS + 200);
    expect(fake.connections).toHaveLength(0);
    const client = await open('Default path.');
    await client.start({});
    expect(fake.connections).toHaveLength(1);
    expect(configuredWith(fake, 0).instructions).toBe('Default path.');
  });

  it('hands session.start a socket connected before it, configured with the session\'s own config, and refills', async () => {
    await start({ size: 1, idleSeconds: 30, models: [MODEL] });
    await eventually(() => pool().parkedCount() === 1, 'a socket is parked', 5000);
    expect(fake.connections).toHaveLength(1);
    // The parked socket was greeted (session.created) and has not been configured yet.
    expect(fake.connections[0].sent[0].type).toBe('session.created');
    expect(fake.connections[0].received).toHaveLength(0);

    const client = await open('You are the warm one.');
    const started = await client.start({});
    expect(started.type).toBe('session.started');
    expect(pool().handedOut).toBe(1);
    // The session runs on the connection that existed before its session.start, with its config.
    expect(configuredWith(fake, 0)).toEqual({ instructions: 'You are the warm one.', voice: 'cedar' });
    client.send({ type: 'text.input', text: 'hello' });
    client.send({ type: 'response.create' });
    await client.next('response.completed');
    expect(fake.connections[0].received.some((m) => m.type === 'conversation.item.create')).toBe(true);

    // The pool refills in the background, without a session asking.
    await eventually(() => fake.connections.length === 2 && pool().parkedCount() === 1, 'the pool refilled', 5000);
    expect(fake.connections[1].received).toHaveLength(0);

    // A second session takes the refilled socket, with its own config.
    const second = await open('You are the second one.');
    await second.start({});
    expect(configuredWith(fake, 1).instructions).toBe('You are the second one.');
    expect(configuredWith(fake, 0).instructions).toBe('You are the warm one.');
  });

  it('replaces a socket idle past idleSeconds', async () => {
    await start({ size: 1, idleSeconds: 0.5, models: [MODEL] });
    await eventually(() => fake.connections.length === 1, 'the first socket connected', 5000);
    const first = fake.connections[0];
    const closed = await first.closed;
    expect(closed.code).toBe(1000);
    await eventually(() => fake.connections.length >= 2 && pool().parkedCount() === 1, 'a replacement is parked', 5000);
    expect(fake.connections[1].closeInfo).toBeUndefined();
    expect(pool().handedOut).toBe(0);
  });

  it('does not hand out a socket the provider closed while it was parked (a normal connect instead)', async () => {
    await start({ size: 1, idleSeconds: 30, models: [MODEL] });
    await eventually(() => pool().parkedCount() === 1, 'a socket is parked', 5000);
    fake.connections[0].close(1011, 'server restarting');
    await eventually(() => pool().parkedCount() === 0, 'the pool dropped the closed socket');

    // The replacement is still connecting (300 ms): the session connects on its own.
    const client = await open('After the drop.');
    await client.start({});
    expect(pool().handedOut).toBe(0);
    const used = fake.connections.findIndex((c) => c.received.some((m) => m.type === 'session.update'));
    expect(used).toBeGreaterThan(0);
    expect(configuredWith(fake, used).instructions).toBe('After the drop.');
    expect(fake.connections[0].received).toHaveLength(0);
  });

  it('a warm socket that breaks as the session configures it costs a fresh connect, not the session', async () => {
    await start({ size: 1, idleSeconds: 30, models: [MODEL] });
    await eventually(() => pool().parkedCount() === 1, 'a socket is parked', 5000);
    fake.dropOnSessionUpdate = 1;
    const client = await open('Despite the broken socket.');
    const started = await client.start({});
    expect(started.type).toBe('session.started');
    expect(pool().handedOut).toBe(1);
    // The handed-out socket was cut at its session.update; a fresh one carries the session.
    const configured = fake.connections.filter((c) => c.received.some((m) => m.type === 'session.update'));
    expect(configured).toHaveLength(2);
    expect(configuredWith(fake, fake.connections.indexOf(configured[1])).instructions).toBe('Despite the broken socket.');
    client.send({ type: 'text.input', text: 'Hello?' });
    client.send({ type: 'response.create' });
    await client.next('response.completed');
    expect(client.ofType('session.terminating')).toHaveLength(0);
    // Metrics: one warm take; the pool refilled shows in the parked gauge.
    await eventually(() => pool().parkedCount() === 1, 'the pool refilled', 5000);
    const samples = parsePrometheusText(await app!.app.get(RealtimeMetrics).scrape());
    expect(valueOf(samples, METRIC_NAMES.warmTakes, { result: 'warm' })).toBe(1);
    expect(valueOf(samples, METRIC_NAMES.warmTakes, { result: 'cold' })).toBeUndefined();
    expect(valueOf(samples, METRIC_NAMES.warmParked)).toBe(1);
  });

  it('closes every parked socket and abandons every connect at app shutdown, leaving nothing open', async () => {
    await sleep(50);
    const baseline = countResources();
    await start({ size: 2, idleSeconds: 30, models: [MODEL] });
    await eventually(() => pool().parkedCount() === 2, 'two sockets are parked', 5000);
    // Take one with a session, so a refill connect is under way at shutdown.
    const client = await open('Short call.');
    await client.start({});
    await client.close();
    clients.splice(0);
    const parked = fake.connections.slice(0, 2);
    await app!.close();
    app = undefined;
    for (const conn of parked) expect((await conn.closed).code).toBeDefined();
    expect(parked.filter((c) => c.closeInfo?.code === 1000)).toHaveLength(2);
    await eventually(() => {
      const now = countResources();
      return now.sockets <= baseline.sockets && now.timeouts <= baseline.timeouts;
    }, 'the active resources are back to the baseline', 5000);
    // The refill connect was abandoned: no new connection reaches the fake after its delay.
    const count = fake.connections.length;
    await sleep(CONNECT_DELAY_MS + 100);
    expect(fake.connections).toHaveLength(count);
  });
});

describe('warm upstreams: configuration', () => {
  it.each([
    [{ size: 1, idleSeconds: 5, models: ['xai/grok-voice-latest'] }, /cannot be pre-connected/],
    [{ size: 1, idleSeconds: 5, models: ['openai/gpt-4o'] }, /not a realtime model/],
    [{ size: 0, idleSeconds: 5 }, /size must be/],
    [{ size: 1, idleSeconds: 120 }, /below limits.rotationMarginSeconds/],
  ])('refuses %j at startup', async (warmUpstreams, message) => {
    await expect(startRealtimeApp('express', { warmUpstreams })).rejects.toThrow(message);
  });
});
