// Several gateway instances on one Redis (issue 5), as deployed: two standalone servers, each its
// own OS process on its own port, started from the built `dist/` with REDIS_URL. No sticky
// sessions: a ticket minted on A is redeemed on B, exactly once across both; the per-project
// session limit holds across both; a SIGKILLed instance's leases expire; Redis going away makes
// both answer 503 within the command timeout, and both serve again when it is back.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { expectError, request } from '../helpers/mint-client.js';
import { describeWithRedisProcess, inspectionClient, startRedisServer, uniquePrefix, type RedisServer } from '../helpers/redis-server.js';
import { expectStartFailure, startStandalone, type StandaloneProcess } from '../helpers/standalone-process.js';
import { closeAll, connect, type RealtimeTestClient } from '../helpers/ws-client.js';

const API_KEY = 'somekey';
const PROJECT = 'proj_a';
const LEASE_TTL_MS = 1500;
const COMMAND_TIMEOUT_MS = 300;
const SLACK_MS = 700;
const LOOPBACK = { model: 'loopback/echo' };

const timings: string[] = [];

async function mint(instance: StandaloneProcess): Promise<string> {
  const result = await request(instance.baseUrl, { apiKey: API_KEY, json: { config: LOOPBACK } });
  expect(`${result.status} ${result.text}`).toMatch(/^200 /);
  return (result.json as { client_secret: string }).client_secret;
}

/** Opens a session on `instance` with the ticket and waits for `session.started`. */
async function startSession(instance: StandaloneProcess, ticket: string): Promise<RealtimeTestClient> {
  const client = connect(instance.baseUrl, { ticket });
  expect(await client.opened()).toBe(`opper-ticket.${ticket}`);
  await client.start({});
  return client;
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) throw new Error(`Timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return Math.round(performance.now() - started);
}

describeWithRedisProcess('two gateway processes sharing one Redis', () => {
  let redis: RedisServer;
  let inspect: Redis;
  let prefix: string;
  let a: StandaloneProcess;
  let b: StandaloneProcess;
  const instances = new Set<StandaloneProcess>();
  const clients: RealtimeTestClient[] = [];

  function env(): Record<string, string> {
    return {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
      REDIS_SESSION_LEASE_TTL_MS: String(LEASE_TTL_MS),
      REALTIME_API_KEYS: `${PROJECT}:${API_KEY}`,
      REALTIME_MAX_SESSIONS_PER_PROJECT: '1',
    };
  }

  async function instance(): Promise<StandaloneProcess> {
    const started = await startStandalone(env());
    instances.add(started);
    return started;
  }

  /** Live leases of the project in Redis. */
  const leases = () => inspect.zcard(`${prefix}sessions:${PROJECT}`);

  /** Closes the test's sessions and waits until their leases are gone, so the next test starts at 0. */
  async function endSessions(): Promise<void> {
    await closeAll(clients.splice(0));
    await until(async () => (await leases()) === 0, 'every lease is released');
  }

  beforeAll(async () => {
    redis = await startRedisServer();
    inspect = await inspectionClient(redis.url);
    prefix = uniquePrefix('multi');
    [a, b] = await Promise.all([instance(), instance()]);
  }, 120_000);

  afterAll(async () => {
    await closeAll(clients);
    await Promise.all([...instances].map((i) => i.kill('SIGKILL')));
    await inspect?.quit();
    await redis?.close();
    console.log(`Two-instance timings (command timeout ${COMMAND_TIMEOUT_MS} ms, lease TTL ${LEASE_TTL_MS} ms):\n  ${timings.join('\n  ')}`);
  });

  it('redeems on B a ticket minted on A; a replay on A gets 401', async () => {
    const ticket = await mint(a);
    const session = await startSession(b, ticket);
    clients.push(session);

    const replay = connect(a.baseUrl, { ticket });
    const refused = await replay.rejected();
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ error: { code: 'invalid_ticket' } });
    expect((await connect(b.baseUrl, { ticket }).rejected()).status).toBe(401);
    await endSessions();
  });

  it('gives 200 parallel upgrades of one ticket, spread over both instances, exactly one 101', async () => {
    const ticket = await mint(a);
    const attempts = Array.from({ length: 200 }, (_, i) => connect(i % 2 === 0 ? a.baseUrl : b.baseUrl, { ticket }));
    clients.push(...attempts);
    const outcomes = await Promise.all(attempts.map((c) => c.outcome));
    const opened = outcomes.filter((o) => o.kind === 'open');
    const statuses = outcomes.map((o) => (o.kind === 'rejected' ? o.status : o.kind === 'open' ? 101 : o.error.message));
    expect(opened).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(199);
    await endSessions();
  });

  it("holds the per-project limit across both instances, and frees a SIGKILLed instance's slot when its lease expires", async () => {
    const first = await startSession(a, await mint(a));
    clients.push(first);
    expect(await leases()).toBe(1);

    // The same project on the other instance: over the limit of 1.
    const second = connect(b.baseUrl, { ticket: await mint(b) });
    clients.push(second);
    await second.opened();
    const terminating = await second.next('session.terminating');
    expect(terminating).toMatchObject({ error: { code: 'session_limit_reached' } });
    expect((await second.closed).code).toBe(1013);

    // The lease outlives several TTLs while the session lives (it is refreshed).
    await new Promise((resolve) => setTimeout(resolve, 2 * LEASE_TTL_MS));
    expect(await leases()).toBe(1);
    const stillFull = connect(b.baseUrl, { ticket: await mint(b) });
    clients.push(stillFull);
    expect(await stillFull.next('session.terminating')).toMatchObject({ error: { code: 'session_limit_reached' } });

    // A dies without releasing anything.
    await a.kill('SIGKILL');
    instances.delete(a);
    const killedAt = performance.now();
    let admitted: RealtimeTestClient | undefined;
    await until(async () => {
      const client = connect(b.baseUrl, { ticket: await mint(b) });
      clients.push(client);
      await client.opened();
      client.send({ type: 'session.start', config: {} });
      const answer = await client.nextWhere((e) => e.type === 'session.terminating' || e.type === 'session.started', 'an answer');
      if (answer.type === 'session.terminating') return false;
      admitted = client;
      return true;
    }, 'a new session is admitted after the dead instance lease expired', 3 * LEASE_TTL_MS);
    const freedMs = Math.round(performance.now() - killedAt);
    expect(admitted).toBeDefined();
    expect(freedMs).toBeLessThan(LEASE_TTL_MS + 1000);
    timings.push(`slot of a SIGKILLed instance free again after ${freedMs} ms (lease TTL ${LEASE_TTL_MS} ms)`);

    await endSessions();
    a = await instance();
  });

  it('answers 503 on both instances while Redis is down, never redeems a ticket twice, and both serve again after a restart', async () => {
    const before = [await mint(a), await mint(b)];
    redis.pause();
    const frozen: string[] = [];
    for (const target of [a, b]) {
      const started = performance.now();
      expectError(await request(target.baseUrl, { apiKey: API_KEY }), 503, 'ticket_store_unavailable');
      const mintMs = Math.round(performance.now() - started);
      expect(mintMs).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);
      const upgrade = connect(target.baseUrl, { ticket: before[0] });
      clients.push(upgrade);
      const refused = await upgrade.rejected();
      expect(refused.status).toBe(503);
      frozen.push(`${target === a ? 'A' : 'B'} mint 503 in ${mintMs} ms, upgrade 503 in ${Math.round(performance.now() - started) - mintMs} ms`);
    }
    redis.resume();

    // Every ticket minted before the freeze, tried on both instances at once: at most one 101 each.
    for (const ticket of before) {
      const attempts = [a, b, a, b].map((target) => connect(target.baseUrl, { ticket }));
      clients.push(...attempts);
      const outcomes = await Promise.all(attempts.map((c) => c.outcome));
      expect(outcomes.filter((o) => o.kind === 'open').length).toBeLessThanOrEqual(1);
    }
    await endSessions();

    await redis.stop();
    for (const target of [a, b]) {
      const started = performance.now();
      expectError(await request(target.baseUrl, { apiKey: API_KEY }), 503, 'ticket_store_unavailable');
      expect(performance.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS + SLACK_MS);
    }
    await redis.start();
    const recovered = await Promise.all(
      [a, b].map((target) => until(async () => (await request(target.baseUrl, { apiKey: API_KEY })).status === 200, 'minting works again')),
    );
    const session = await startSession(b, await mint(a));
    clients.push(session);
    timings.push(`Redis frozen: ${frozen.join('; ')}`);
    timings.push(`Redis restarted: A serving again after ${recovered[0]} ms, B after ${recovered[1]} ms`);
    await endSessions();
  });
});

describe('the standalone server without ioredis installed', () => {
  let hookDir: string;
  let register: string;
  const started = new Set<StandaloneProcess>();

  beforeAll(() => {
    // A resolve hook that makes `ioredis` unresolvable, as in an app that never installed it.
    hookDir = mkdtempSync(join(tmpdir(), 'no-ioredis-'));
    writeFileSync(
      join(hookDir, 'hooks.mjs'),
      `export async function resolve(specifier, context, next) {
  if (specifier === 'ioredis' || specifier.startsWith('ioredis/')) {
    throw Object.assign(new Error("Cannot find package 'ioredis'"), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return next(specifier, context);
}\n`,
    );
    writeFileSync(join(hookDir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(hookDir, 'hooks.mjs')).href)});\n`);
    register = pathToFileURL(join(hookDir, 'register.mjs')).href;
  });

  afterAll(async () => {
    await Promise.all([...started].map((p) => p.kill('SIGKILL')));
    rmSync(hookDir, { recursive: true, force: true });
  });

  it('runs in memory without REDIS_URL: mint and connect', async () => {
    const server = await startStandalone({ REALTIME_API_KEYS: `${PROJECT}:${API_KEY}` }, { nodeArgs: ['--import', register] });
    started.add(server);
    const session = await startSession(server, await mint(server));
    await session.close();
  }, 60_000);

  it('refuses to start with REDIS_URL, saying what to install', async () => {
    const { code, output } = await expectStartFailure(
      { REALTIME_API_KEYS: `${PROJECT}:${API_KEY}`, REDIS_URL: 'redis://127.0.0.1:1' },
      { nodeArgs: ['--import', register] },
    );
    expect(code).not.toBe(0);
    expect(output).toContain('npm install ioredis');
  }, 60_000);
});
