// InMemoryTicketRepository: single redemption under concurrency, expiry, the sweep, and a sweeper
// timer that neither keeps the process alive nor outlives close().
import { describe, expect, it } from '@jest/globals';
import { InMemoryTicketRepository, TicketRepository, type TicketRecord } from '../../src/index.js';

const T0 = Date.parse('2026-05-13T15:30:00Z');

/** A clock the test moves by hand. */
function manualClock(start = T0) {
  let now = start;
  let reads = 0;
  return {
    now: () => {
      reads += 1;
      return now;
    },
    set: (ms: number) => {
      now = ms;
    },
    get reads() {
      return reads;
    },
  };
}

function ticket(id: string, expiresAt: number, overrides: Partial<TicketRecord> = {}): TicketRecord {
  return { id, projectId: 'proj_a', keyId: 'key_a', config: {}, lockedFields: [], createdAt: T0, expiresAt, ...overrides };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Builds a repository, runs `fn`, always closes it. */
async function withRepository(options: ConstructorParameters<typeof InMemoryTicketRepository>[0], fn: (repo: InMemoryTicketRepository) => Promise<void>) {
  const repo = new InMemoryTicketRepository(options);
  try {
    await fn(repo);
  } finally {
    repo.close();
  }
}

describe('InMemoryTicketRepository', () => {
  it('1,000 concurrent consumes of one ticket return the record exactly once', async () => {
    await withRepository({}, async (repo) => {
      const record = ticket('a'.repeat(64), Date.now() + 60_000, { config: { voice: 'marin' } });
      await repo.save(record);
      const results = await Promise.all(Array.from({ length: 1000 }, () => repo.consume(record.id)));
      const winners = results.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toEqual(record);
      expect(repo.size).toBe(0);
    });
  });

  it('concurrent consumes of different tickets each win once', async () => {
    await withRepository({}, async (repo) => {
      const ids = Array.from({ length: 50 }, (_, i) => `id-${i}`);
      await Promise.all(ids.map((id) => repo.save(ticket(id, Date.now() + 60_000))));
      const results = await Promise.all([...ids, ...ids, ...ids].map((id) => repo.consume(id)));
      const won = results.filter((r): r is TicketRecord => r !== null).map((r) => r.id);
      expect(won.sort()).toEqual([...ids].sort());
    });
  });

  it('returns null for an unknown id', async () => {
    await withRepository({}, async (repo) => {
      expect(await repo.consume('nope')).toBeNull();
    });
  });

  it('never returns an expired ticket, not even on the first consume', async () => {
    const clock = manualClock();
    await withRepository({ now: clock.now }, async (repo) => {
      await repo.save(ticket('expired', T0 + 1_000));
      clock.set(T0 + 5_000);
      expect(await repo.consume('expired')).toBeNull();
      expect(await repo.consume('expired')).toBeNull();
    });
  });

  it('a ticket is dead from the instant of expiresAt on, alive one millisecond before', async () => {
    const clock = manualClock();
    await withRepository({ now: clock.now }, async (repo) => {
      await repo.save(ticket('edge', T0 + 1_000));
      await repo.save(ticket('just-alive', T0 + 1_000));
      clock.set(T0 + 999);
      expect(await repo.consume('just-alive')).not.toBeNull();
      clock.set(T0 + 1_000);
      expect(await repo.consume('edge')).toBeNull();
    });
  });

  it('refuses to overwrite a stored ticket with the same id', async () => {
    await withRepository({}, async (repo) => {
      await repo.save(ticket('same', Date.now() + 60_000, { projectId: 'first' }));
      await expect(repo.save(ticket('same', Date.now() + 60_000, { projectId: 'second' }))).rejects.toThrow();
      expect((await repo.consume('same'))?.projectId).toBe('first');
    });
  });

  it('sweep() drops expired records and keeps live ones', async () => {
    const clock = manualClock();
    await withRepository({ now: clock.now }, async (repo) => {
      await repo.save(ticket('old-1', T0 + 1_000));
      await repo.save(ticket('old-2', T0 + 2_000));
      await repo.save(ticket('live', T0 + 60_000));
      expect(repo.size).toBe(3);
      clock.set(T0 + 2_000);
      repo.sweep();
      expect(repo.size).toBe(1);
      expect((await repo.consume('live'))?.id).toBe('live');
    });
  });

  it('sweeps on its own timer, and stops sweeping after close()', async () => {
    const clock = manualClock();
    const repo = new InMemoryTicketRepository({ now: clock.now, sweepIntervalMs: 5 });
    try {
      await repo.save(ticket('old', T0 + 1_000));
      clock.set(T0 + 10_000);
      await sleep(50);
      expect(repo.size).toBe(0);
    } finally {
      repo.close();
    }
    await repo.save(ticket('old-after-close', T0 + 1_000));
    const readsAtClose = clock.reads;
    await sleep(50);
    expect(clock.reads).toBe(readsAtClose);
    expect(repo.size).toBe(1);
  });

  it('onModuleDestroy() stops the sweeper like close()', async () => {
    const clock = manualClock();
    const repo = new InMemoryTicketRepository({ now: clock.now, sweepIntervalMs: 5 });
    await sleep(30);
    expect(clock.reads).toBeGreaterThan(0);
    repo.onModuleDestroy();
    const readsAtDestroy = clock.reads;
    await sleep(50);
    expect(clock.reads).toBe(readsAtDestroy);
  });

  it('its timer does not keep the process alive, and close() leaves no timer behind', () => {
    const activeTimeouts = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const before = activeTimeouts();
    const repos = Array.from({ length: 5 }, () => new InMemoryTicketRepository({ sweepIntervalMs: 1_000 }));
    // Unref'd timers are not counted as keeping the event loop alive.
    expect(activeTimeouts()).toBe(before);
    for (const repo of repos) repo.close();
    expect(activeTimeouts()).toBe(before);
  });

  it('close() is idempotent', () => {
    const repo = new InMemoryTicketRepository();
    repo.close();
    expect(() => repo.close()).not.toThrow();
  });

  describe('redeem: why a ticket is refused', () => {
    it('tells ok, replayed, expired and unknown apart, and counts each expired ticket once', async () => {
      const clock = manualClock();
      const expired: number[] = [];
      await withRepository({ now: clock.now, onExpiredUnredeemed: (n) => expired.push(n) }, async (repo) => {
        await repo.save(ticket('live', T0 + 10_000));
        await repo.save(ticket('late', T0 + 1_000));
        expect(await repo.redeem('live')).toEqual({ ticket: ticket('live', T0 + 10_000) });
        expect(await repo.redeem('live')).toEqual({ refused: 'replayed' });
        expect(await repo.consume('live')).toBeNull();
        clock.set(T0 + 2_000);
        expect(await repo.redeem('late')).toEqual({ refused: 'expired' });
        expect(await repo.redeem('late')).toEqual({ refused: 'expired' });
        expect(await repo.redeem('never')).toEqual({ refused: 'unknown' });
        expect(expired).toEqual([1]);
      });
    });

    it('the sweep counts tickets that expired unredeemed, once, and an attempt after it still says expired', async () => {
      const clock = manualClock();
      const expired: number[] = [];
      await withRepository({ now: clock.now, onExpiredUnredeemed: (n) => expired.push(n), refusalMemoryMs: 5_000 }, async (repo) => {
        await repo.save(ticket('a', T0 + 1_000));
        await repo.save(ticket('b', T0 + 1_000));
        await repo.save(ticket('live', T0 + 60_000));
        clock.set(T0 + 1_500);
        repo.sweep();
        repo.sweep();
        expect(expired).toEqual([2]);
        expect(await repo.redeem('a')).toEqual({ refused: 'expired' });
        expect(expired).toEqual([2]);
        // Past expiry + refusal memory, a refused ticket is forgotten.
        clock.set(T0 + 6_001);
        repo.sweep();
        expect(await repo.redeem('b')).toEqual({ refused: 'unknown' });
        expect((await repo.redeem('live'))).toHaveProperty('ticket');
      });
    });
  });
});

describe('TicketRepository.redeem by default (a host-supplied store)', () => {
  it('is built on consume: the ticket once, then every refusal reported as unknown', async () => {
    class OneShotStore extends TicketRepository {
      private readonly records = new Map<string, TicketRecord>();
      async save(record: TicketRecord) {
        this.records.set(record.id, record);
      }
      async consume(id: string) {
        const record = this.records.get(id) ?? null;
        this.records.delete(id);
        return record;
      }
    }
    const store = new OneShotStore();
    const record = ticket('x', Date.now() + 60_000);
    await store.save(record);
    expect(await store.redeem('x')).toEqual({ ticket: record });
    expect(await store.redeem('x')).toEqual({ refused: 'unknown' });
    expect(await store.redeem('y')).toEqual({ refused: 'unknown' });
  });
});
