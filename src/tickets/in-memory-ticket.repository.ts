// Default ticket store for a single instance. Expired tickets are swept by an unref'd timer
// that is cleared on shutdown, so the store neither keeps the process alive nor grows unbounded.
// A spent or expired ticket leaves a small tombstone until `refusalMemoryMs` past its expiry, so a
// replay is told apart from an expired or unknown ticket (for metrics; each is refused alike).
import type { OnModuleDestroy } from '@nestjs/common';
import type { TicketRecord } from './ticket.record.js';
import { DEFAULT_REFUSAL_MEMORY_MS, TicketRepository, type TicketRedemption } from './ticket.repository.js';

export interface InMemoryTicketRepositoryOptions {
  /** How often expired tickets are dropped. Default 10 s. */
  sweepIntervalMs?: number;
  /** Clock (epoch ms); injectable for tests. */
  now?: () => number;
  /** How long past its expiry a spent or expired ticket is still recognised. Default 60 s. */
  refusalMemoryMs?: number;
  /**
   * Called with the number of tickets found expired and never redeemed (by the sweep, or by a
   * redemption that came too late); each ticket is counted once.
   */
  onExpiredUnredeemed?: (count: number) => void;
}

interface Tombstone {
  refused: 'replayed' | 'expired';
  /** Epoch ms after which the id is forgotten (then `unknown`). */
  until: number;
}

export class InMemoryTicketRepository extends TicketRepository implements OnModuleDestroy {
  private readonly tickets = new Map<string, TicketRecord>();
  private readonly tombstones = new Map<string, Tombstone>();
  private readonly now: () => number;
  private readonly refusalMemoryMs: number;
  private readonly onExpiredUnredeemed: ((count: number) => void) | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: InMemoryTicketRepositoryOptions = {}) {
    super();
    this.now = options.now ?? Date.now;
    this.refusalMemoryMs = options.refusalMemoryMs ?? DEFAULT_REFUSAL_MEMORY_MS;
    this.onExpiredUnredeemed = options.onExpiredUnredeemed;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 10_000);
    this.sweeper.unref();
  }

  async save(ticket: TicketRecord): Promise<void> {
    if (this.tickets.has(ticket.id) || this.tombstones.has(ticket.id)) throw new Error('ticket id collision');
    this.tickets.set(ticket.id, ticket);
  }

  async consume(id: string): Promise<TicketRecord | null> {
    const redemption = this.take(id);
    return 'ticket' in redemption ? redemption.ticket : null;
  }

  override async redeem(id: string): Promise<TicketRedemption> {
    return this.take(id);
  }

  /** Always ready: the store is this process's memory. */
  override async ping(): Promise<void> {}

  /** Number of stored (possibly expired, not yet swept) tickets. */
  get size(): number {
    return this.tickets.size;
  }

  sweep(): void {
    const now = this.now();
    let expired = 0;
    for (const [id, ticket] of this.tickets) {
      if (ticket.expiresAt > now) continue;
      this.tickets.delete(id);
      this.bury(id, 'expired', ticket.expiresAt);
      expired += 1;
    }
    for (const [id, tombstone] of this.tombstones) {
      if (tombstone.until <= now) this.tombstones.delete(id);
    }
    if (expired > 0) this.onExpiredUnredeemed?.(expired);
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  onModuleDestroy(): void {
    this.close();
  }

  /** Takes the ticket; synchronous, so no other call can interleave between get and delete. */
  private take(id: string): TicketRedemption {
    const now = this.now();
    const ticket = this.tickets.get(id);
    if (ticket) {
      this.tickets.delete(id);
      if (ticket.expiresAt > now) {
        this.bury(id, 'replayed', ticket.expiresAt);
        return { ticket };
      }
      this.bury(id, 'expired', ticket.expiresAt);
      this.onExpiredUnredeemed?.(1);
      return { refused: 'expired' };
    }
    const tombstone = this.tombstones.get(id);
    if (tombstone && tombstone.until > now) return { refused: tombstone.refused };
    return { refused: 'unknown' };
  }

  private bury(id: string, refused: Tombstone['refused'], expiresAt: number): void {
    this.tombstones.set(id, { refused, until: expiresAt + this.refusalMemoryMs });
  }
}
