// RedisTicketRepository against a real redis-server: record round trip, exactly-once redemption
// under 1,000 concurrent consumes (one client, and several clients standing for instances), expiry
// on both clocks, key prefixes, and the Lua GET+DEL path (forced, and picked by itself when the
// server has no GETDEL).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { generateTicketSecret, RedisTicketRepository, ticketIdOf, type TicketRecord } from '../../src/index.js';
import { RedisConnection } from '../../src/redis/redis-connection.js';
import {
  describeWithRedis,
  describeWithRedisProcess,
  inspectionClient,
  keysUnder,
  startRedisServer,
  uniquePrefix,
  type RedisServer,
} from '../helpers/redis-server.js';

Logger.overrideLogger(false);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function ticket(overrides: Partial<TicketRecord> = {}): TicketRecord {
  const now = Date.now();
  return {
    id: ticketIdOf(generateTicketSecret()),
    projectId: 'proj_a',
    keyId: 'key_a',
    config: {
      model: 'openai/gpt-realtime-2',
      instructions: 'Speak like a pirate. "Quotes", \\ backslashes, ünïcødé and emoji 🎙️ survive.',
      voice: 'marin',
      modalities: ['audio', 'text'],
      temperature: 0.8,
      input_transcription: false,
      turn_detection: { type: 'semantic_vad', threshold: 0.5 },
      tools: [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
      translation_target_language: null,
    },
    lockedFields: ['instructions', 'tools', 'voice'],
    createdAt: now,
    expiresAt: now + 60_000,
    ...overrides,
  };
}

/** Fires `n` consumes of one id at once; resolves the records that came back. */
async function consumeConcurrently(repos: RedisTicketRepository[], id: string, n: number): Promise<TicketRecord[]> {
  const results = await Promise.all(Array.from({ length: n }, (_, i) => repos[i % repos.length].consume(id)));
  return results.filter((r): r is TicketRecord => r !== null);
}

describeWithRedis('RedisTicketRepository', () => {
  let server: RedisServer;
  const connections: RedisConnection[] = [];
  let inspect: Redis;

  /** A fresh connection (one per simulated gateway instance). */
  async function client() {
    const connection = await RedisConnection.open({ url: server.url });
    connections.push(connection);
    return connection.client;
  }

  beforeAll(async () => {
    server = await startRedisServer();
    inspect = await inspectionClient(server.url);
  });

  afterAll(async () => {
    await Promise.all(connections.map((c) => c.close()));
    await inspect?.quit();
    await server?.close();
  });

  describe.each(['getdel', 'script'] as const)('consuming with %s', (strategy) => {
    let repo: RedisTicketRepository;
    let prefix: string;

    beforeAll(async () => {
      prefix = uniquePrefix(strategy);
      repo = new RedisTicketRepository(await client(), { keyPrefix: prefix, consumeStrategy: strategy });
      expect(await repo.consumeStrategy()).toBe(strategy);
    });

    it('round-trips the whole record, once', async () => {
      const record = ticket();
      await repo.save(record);
      expect(await repo.consume(record.id)).toEqual(record);
      expect(await repo.consume(record.id)).toBeNull();
      expect(await inspect.exists(`${prefix}ticket:${record.id}`)).toBe(0);
    });

    it('answers null for an id it never stored', async () => {
      expect(await repo.consume(ticketIdOf('never-minted'))).toBeNull();
    });

    it('gives a ticket to exactly one of 1,000 concurrent consumes', async () => {
      const record = ticket();
      await repo.save(record);
      const winners = await consumeConcurrently([repo], record.id, 1000);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toEqual(record);
    });

    it('gives a ticket to exactly one of 1,000 consumes spread over four clients (four instances)', async () => {
      const repos = [repo];
      for (let i = 0; i < 3; i += 1) repos.push(new RedisTicketRepository(await client(), { keyPrefix: prefix, consumeStrategy: strategy }));
      for (let round = 0; round < 5; round += 1) {
        const record = ticket();
        await repo.save(record);
        expect(await consumeConcurrently(repos, record.id, 1000)).toHaveLength(1);
      }
    });
  });

  describe('storage', () => {
    it('stores one key, <prefix>ticket:<sha256 of the secret>, expiring with the ticket (no refusal memory)', async () => {
      const prefix = uniquePrefix();
      const repo = new RedisTicketRepository(await client(), { keyPrefix: prefix, refusalMemoryMs: 0 });
      const secret = generateTicketSecret();
      const record = ticket({ id: ticketIdOf(secret), expiresAt: Date.now() + 30_000 });
      await repo.save(record);

      const key = `${prefix}ticket:${ticketIdOf(secret)}`;
      expect(repo.keyOf(record.id)).toBe(key);
      expect(await keysUnder(inspect, prefix)).toEqual([key]);
      const pttl = await inspect.pttl(key);
      expect(pttl).toBeGreaterThan(28_000);
      expect(pttl).toBeLessThanOrEqual(30_000);
      const stored = (await inspect.get(key)) as string;
      expect(JSON.parse(stored)).toEqual(record);
      expect(stored).not.toContain(secret);
    });

    it('by default keeps the key 60 s past the ticket, to tell a late redemption from an unknown one', async () => {
      const prefix = uniquePrefix();
      const repo = new RedisTicketRepository(await client(), { keyPrefix: prefix });
      const record = ticket({ expiresAt: Date.now() + 30_000 });
      await repo.save(record);
      const pttl = await inspect.pttl(repo.keyOf(record.id));
      expect(pttl).toBeGreaterThan(88_000);
      expect(pttl).toBeLessThanOrEqual(90_000);
    });

    it('keeps stores with different prefixes apart', async () => {
      const [prefixA, prefixB] = [uniquePrefix('a'), uniquePrefix('b')];
      const a = new RedisTicketRepository(await client(), { keyPrefix: prefixA });
      const b = new RedisTicketRepository(await client(), { keyPrefix: prefixB });
      const record = ticket();
      await a.save(record);
      expect(await b.consume(record.id)).toBeNull();
      expect(await keysUnder(inspect, prefixB)).toEqual([]);
      expect(await keysUnder(inspect, prefixA)).toEqual([`${prefixA}ticket:${record.id}`]);
      expect(await a.consume(record.id)).toEqual(record);
    });

    it('defaults the prefix to "realtime:"', async () => {
      const repo = new RedisTicketRepository(await client());
      expect(repo.keyOf('abc')).toBe('realtime:ticket:abc');
    });

    it('saves ticket, public-id index and outstanding place in one script, or nothing at all', async () => {
      const prefix = uniquePrefix();
      const redis = await client();
      const repo = new RedisTicketRepository(redis, { keyPrefix: prefix, refusalMemoryMs: 0 });
      await repo.save(ticket({ projectId: 'proj_warm_up' })); // the script is cached from now on
      const commands: string[] = [];
      const call = redis.call.bind(redis);
      redis.call = ((command: string, ...args: never[]) => {
        commands.push(command);
        return call(command, ...args);
      }) as typeof redis.call;
      try {
        const first = ticket({ publicId: 'rt_first', expiresAt: Date.now() + 30_000 });
        await repo.save(first, { maxOutstandingPerProject: 1 });
        expect(commands).toEqual(['EVALSHA']);
        expect(JSON.parse((await inspect.get(repo.publicIdKeyOf('rt_first'))) as string)).toEqual({ projectId: 'proj_a', id: first.id });
        expect(await inspect.pttl(repo.publicIdKeyOf('rt_first'))).toBeGreaterThan(28_000);
        expect(await inspect.zrange(repo.outstandingKeyOf('proj_a'), '0', '-1')).toEqual([first.id]);

        // Over the cap, or a public id already taken: refused, and nothing is written.
        const before = await keysUnder(inspect, prefix);
        const full = ticket({ publicId: 'rt_second' });
        await expect(repo.save(full, { maxOutstandingPerProject: 1 })).rejects.toThrow('too many outstanding tickets');
        const taken = ticket({ publicId: 'rt_first' });
        await expect(repo.save(taken)).rejects.toThrow('ticket public id collision');
        await expect(repo.save({ ...first, publicId: 'rt_third' })).rejects.toThrow('ticket id collision');
        expect(await keysUnder(inspect, prefix)).toEqual(before);
        expect(JSON.parse((await inspect.get(repo.publicIdKeyOf('rt_first'))) as string).id).toBe(first.id);
        expect(await inspect.zrange(repo.outstandingKeyOf('proj_a'), '0', '-1')).toEqual([first.id]);
      } finally {
        redis.call = call;
      }
    });

    it('refuses to overwrite a stored ticket (SET NX): a collision throws, the first record stays', async () => {
      const prefix = uniquePrefix();
      const repo = new RedisTicketRepository(await client(), { keyPrefix: prefix });
      const record = ticket();
      await repo.save(record);
      await expect(repo.save({ ...record, projectId: 'proj_evil' })).rejects.toThrow('ticket id collision');
      expect(await repo.consume(record.id)).toEqual(record);
    });
  });

  describe('expiry', () => {
    it('lets Redis drop a ticket at expiresAt (PX) without refusal memory, before anyone consumes it', async () => {
      const prefix = uniquePrefix();
      const repo = new RedisTicketRepository(await client(), { keyPrefix: prefix, refusalMemoryMs: 0 });
      const record = ticket({ expiresAt: Date.now() + 150 });
      await repo.save(record);
      expect(await inspect.exists(repo.keyOf(record.id))).toBe(1);
      await sleep(300);
      expect(await inspect.exists(repo.keyOf(record.id))).toBe(0);
      expect(await repo.consume(record.id)).toBeNull();
    });

    it("answers null once expiresAt has passed on this instance's clock, even if the key is still there", async () => {
      const prefix = uniquePrefix();
      let skew = 0;
      const repo = new RedisTicketRepository(await client(), { keyPrefix: prefix, now: () => Date.now() + skew });
      const record = ticket({ expiresAt: Date.now() + 10_000 });
      await repo.save(record);
      skew = 20_000;
      expect(await repo.consume(record.id)).toBeNull();
      // Taken all the same: an expired ticket is never handed out later either.
      expect(await inspect.exists(repo.keyOf(record.id))).toBe(0);
    });

    it('stores a ticket whose expiry is already past for 1 ms at most, and never hands it out', async () => {
      const prefix = uniquePrefix();
      const repo = new RedisTicketRepository(await client(), { keyPrefix: prefix });
      const record = ticket({ expiresAt: Date.now() - 1000 });
      await repo.save(record);
      expect(await repo.consume(record.id)).toBeNull();
    });
  });

  describe('redeem: why a ticket is refused, across instances', () => {
    it('tells ok, replayed (on another instance), expired and unknown apart; the record is gone once spent', async () => {
      const prefix = uniquePrefix('redeem');
      const expiredCounts: number[] = [];
      const a = new RedisTicketRepository(await client(), { keyPrefix: prefix, onExpiredUnredeemed: (n) => expiredCounts.push(n) });
      const b = new RedisTicketRepository(await client(), { keyPrefix: prefix, onExpiredUnredeemed: (n) => expiredCounts.push(n) });
      const live = ticket();
      await a.save(live);
      expect(await b.redeem(live.id)).toEqual({ ticket: live });
      // The record is replaced by a tombstone that holds nothing of it, and lives to expiry + 60 s.
      const stored = (await inspect.get(a.keyOf(live.id))) as string;
      expect(stored).toBe('replayed');
      expect(await inspect.pttl(a.keyOf(live.id))).toBeGreaterThan(118_000);
      expect(await a.redeem(live.id)).toEqual({ refused: 'replayed' });
      expect(await b.redeem(live.id)).toEqual({ refused: 'replayed' });
      expect(await a.consume(live.id)).toBeNull();

      const late = ticket({ expiresAt: Date.now() + 100 });
      await a.save(late);
      await sleep(200);
      expect(await b.redeem(late.id)).toEqual({ refused: 'expired' });
      expect(await a.redeem(late.id)).toEqual({ refused: 'expired' });
      expect(expiredCounts).toEqual([1]);

      expect(await a.redeem(ticketIdOf('never-minted'))).toEqual({ refused: 'unknown' });
    });

    it('gives a ticket to exactly one of 1,000 redemptions over four clients; the other 999 are replays', async () => {
      const prefix = uniquePrefix('redeem');
      const repos = await Promise.all([0, 1, 2, 3].map(async () => new RedisTicketRepository(await client(), { keyPrefix: prefix })));
      const record = ticket();
      await repos[0].save(record);
      const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => repos[i % 4].redeem(record.id)));
      expect(results.filter((r) => 'ticket' in r)).toEqual([{ ticket: record }]);
      expect(results.filter((r) => 'refused' in r && r.refused === 'replayed')).toHaveLength(999);
    });

    it('judges expiry on this instance\'s clock, as consume does, and never hands the ticket out later', async () => {
      const prefix = uniquePrefix('redeem');
      let skew = 20_000;
      const repo = new RedisTicketRepository(await client(), { keyPrefix: prefix, now: () => Date.now() + skew });
      const record = ticket({ expiresAt: Date.now() + 10_000 });
      await repo.save(record);
      expect(await repo.redeem(record.id)).toEqual({ refused: 'expired' });
      skew = 0;
      expect(await repo.redeem(record.id)).toEqual({ refused: 'expired' });
      expect(await repo.consume(record.id)).toBeNull();
    });

    it('forgets a refused ticket after the refusal memory: then it is unknown', async () => {
      const prefix = uniquePrefix('redeem');
      const repo = new RedisTicketRepository(await client(), { keyPrefix: prefix, refusalMemoryMs: 100 });
      const record = ticket({ expiresAt: Date.now() + 100 });
      await repo.save(record);
      expect('ticket' in (await repo.redeem(record.id))).toBe(true);
      expect(await repo.redeem(record.id)).toEqual({ refused: 'replayed' });
      await sleep(300);
      expect(await repo.redeem(record.id)).toEqual({ refused: 'unknown' });
      expect(await keysUnder(inspect, prefix)).toEqual([]);
    });
  });

  it('picks GETDEL by itself on a server from 6.2 on (INFO server, asked once)', async () => {
    const repo = new RedisTicketRepository(await client(), { keyPrefix: uniquePrefix() });
    const info = await inspect.info('server');
    const [, major, minor] = /redis_version:(\d+)\.(\d+)/.exec(info) ?? [];
    const expected = Number(major) > 6 || (Number(major) === 6 && Number(minor) >= 2) ? 'getdel' : 'script';
    expect(await repo.consumeStrategy()).toBe(expected);
  });
});

describeWithRedisProcess('RedisTicketRepository on a server without GETDEL', () => {
  let server: RedisServer;
  let connection: RedisConnection;

  beforeAll(async () => {
    // A renamed (disabled) GETDEL stands for a server older than 6.2, a proxy, or a "compatible" store.
    server = await startRedisServer({ args: ['--rename-command', 'GETDEL', ''] });
    connection = await RedisConnection.open({ url: server.url });
  });

  afterAll(async () => {
    await connection?.close();
    await server?.close();
  });

  it('falls back to the Lua script on "unknown command" and stays exactly-once', async () => {
    const repo = new RedisTicketRepository(connection.client, { keyPrefix: uniquePrefix() });
    const first = ticket();
    await repo.save(first);
    expect(await repo.consume(first.id)).toEqual(first);
    expect(await repo.consumeStrategy()).toBe('script');

    const second = ticket();
    await repo.save(second);
    expect(await consumeConcurrently([repo], second.id, 1000)).toHaveLength(1);
  });

  it('falls back the same way when GETDEL was configured explicitly', async () => {
    const repo = new RedisTicketRepository(connection.client, { keyPrefix: uniquePrefix(), consumeStrategy: 'getdel' });
    const record = ticket();
    await repo.save(record);
    expect(await repo.consume(record.id)).toEqual(record);
    expect(await repo.consumeStrategy()).toBe('script');
  });
});
