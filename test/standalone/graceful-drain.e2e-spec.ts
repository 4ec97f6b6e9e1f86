// SIGTERM on the real standalone process (`node dist/standalone/main.js`): with a live
// `loopback/echo` session, the session keeps streaming during the drain, /health/ready is 503, a
// new upgrade and a new mint get 503 `server_draining`, and after REALTIME_DRAIN_SECONDS the client
// receives `session.terminating` `server_shutdown` and close 1001; the process exits 0. A second
// SIGTERM during a drain exits at once.
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { expectError, request } from '../helpers/mint-client.js';
import { buildStandalone, startStandalone, type StandaloneProcess } from '../helpers/standalone-process.js';
import { closeAll, connect, mintTicket, type RealtimeTestClient } from '../helpers/ws-client.js';

const PROJECT = 'proj_drain';
const API_KEY = 'rtk-standalone-drain-key';
const LOOPBACK = { model: 'loopback/echo' };

const processes: StandaloneProcess[] = [];

beforeAll(() => buildStandalone(), 180_000);
const clients: RealtimeTestClient[] = [];

afterEach(async () => {
  await closeAll(clients.splice(0));
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
});

async function start(drainSeconds: number): Promise<StandaloneProcess> {
  const server = await startStandalone({ REALTIME_API_KEYS: `${PROJECT}:${API_KEY}`, REALTIME_DRAIN_SECONDS: String(drainSeconds) });
  processes.push(server);
  return server;
}

async function liveSession(server: StandaloneProcess): Promise<RealtimeTestClient> {
  const client = connect(server.baseUrl, { ticket: await mintTicket(server.baseUrl, { config: LOOPBACK }, { apiKey: API_KEY }) });
  clients.push(client);
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

/** Polls /health/ready until it answers 503 (the signal is delivered asynchronously). */
async function untilNotReady(server: StandaloneProcess, timeoutMs = 5000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${server.baseUrl}/health/ready`);
    const body = await res.json();
    if (res.status === 503) return body;
    expect(res.status).toBe(200);
    if (Date.now() > deadline) throw new Error('/health/ready never turned 503 after SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('SIGTERM on the standalone server', () => {
  it('drains: the live session streams, new work gets 503 server_draining, then server_shutdown + 1001 and exit 0', async () => {
    const server = await start(2);
    expect((await fetch(`${server.baseUrl}/health/ready`)).status).toBe(200);
    const live = await liveSession(server);
    const spare = await mintTicket(server.baseUrl, { config: LOOPBACK }, { apiKey: API_KEY });

    const signalled = performance.now();
    process.kill(server.pid, 'SIGTERM');
    const notReady = await untilNotReady(server);
    expect(notReady.error.drain).toEqual({ status: 'down', message: 'draining' });

    const refused = connect(server.baseUrl, { ticket: spare });
    clients.push(refused);
    const rejection = await refused.rejected();
    expect(rejection.status).toBe(503);
    expect((rejection.json as any).error.code).toBe('server_draining');
    expectError(await request(server.baseUrl, { apiKey: API_KEY, json: { config: LOOPBACK } }), 503, 'server_draining');

    await echoes(live, 'streaming during the drain');
    expect(live.ofType('session.terminating')).toEqual([]);

    const terminating = (await live.next('session.terminating', 8000)) as any;
    const endedAfterMs = Math.round(performance.now() - signalled);
    expect(terminating.error.code).toBe('server_shutdown');
    expect((await live.closed).code).toBe(1001);
    // Not before the drain time (2 s), measured from just before the signal was sent.
    expect(endedAfterMs).toBeGreaterThanOrEqual(1900);
    expect(await server.exited).toBe(0);
    console.log(`standalone drain (REALTIME_DRAIN_SECONDS=2): session ended ${endedAfterMs} ms after SIGTERM, exit ${await server.exited}`);
  }, 30_000);

  it('exits 0 as soon as the last session ends, before the drain time', async () => {
    const server = await start(30);
    const live = await liveSession(server);
    const signalled = performance.now();
    process.kill(server.pid, 'SIGTERM');
    await untilNotReady(server);
    await echoes(live, 'one more turn');
    await live.close();
    expect(await server.exited).toBe(0);
    expect(performance.now() - signalled).toBeLessThan(10_000);
    expect(live.ofType('session.terminating')).toEqual([]);
  }, 30_000);

  it('a second SIGTERM during the drain exits at once', async () => {
    const server = await start(30);
    await liveSession(server);
    process.kill(server.pid, 'SIGTERM');
    await untilNotReady(server);
    const second = performance.now();
    process.kill(server.pid, 'SIGTERM');
    const code = await server.exited;
    const exitMs = Math.round(performance.now() - second);
    expect(code).toBe(1);
    expect(exitMs).toBeLessThan(2000);
    console.log(`second SIGTERM: exit ${code} after ${exitMs} ms (drain time 30 s)`);
  }, 30_000);
});
