// Default ticket store for a single instance. Expired tickets are swept by an unref'd timer
// that is cleared on shutdown, so the store neither keeps the process alive nor grows unbounded.
import type { OnModuleDestroy } from '@nestjs/common';
import type { TicketRecord } from './ticket.record.js';
import { TicketRepository } from './ticket.repository.js';

export interface InMemoryTicketRepositoryOptions {
  /** How often expired tickets are dropped. Default 10 s. */
  sweepIntervalMs?: number;
  /** Clock (epoch ms); injectable for tests. */
  now?: () => number;
}

export class InMemoryTicketRepository extends TicketRepository implements OnModuleDestroy {
  private readonly tickets = new Map<string, TicketRecord>();
  private readonly now: () => number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: InMemoryTicketRepositoryOptions = {}) {
    super();
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 10_000);
    this.sweeper.unref();
  }

  async save(ticket: TicketRecord): Promise<void> {
    if (this.tickets.has(ticket.id)) throw new Error('ticket id collision');
    this.tickets.set(ticket.id, ticket);
  }

  async consume(id: string): Promise<TicketRecord | null> {
    // get + delete run without an await between them: no other call can interleave.
    const ticket = this.tickets.get(id);
    if (!ticket) return null;
    this.tickets.delete(id);
    return ticket.expiresAt > this.now() ? ticket : null;
  }

  /** Always ready: the store is this process's memory. */
  override async ping(): Promise<void> {}

  /** Number of stored (possibly expired, not yet swept) tickets. */
  get size(): number {
    return this.tickets.size;
  }

  sweep(): void {
    const now = this.now();
    for (const [id, ticket] of this.tickets) {
      if (ticket.expiresAt <= now) this.tickets.delete(id);
    }
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  onModuleDestroy(): void {
    this.close();
  }
}
