// Default ticket store for a single instance. Expired tickets are swept by an unref'd timer
// that is cleared on shutdown, so the store neither keeps the process alive nor grows unbounded.
import type { OnModuleDestroy } from '@nestjs/common';
import type { TicketRecord } from './ticket.record.js';
import { OutstandingTicketLimitError, TicketRepository, type TicketSaveOptions } from './ticket.repository.js';

export interface InMemoryTicketRepositoryOptions {
  /** How often expired tickets are dropped. Default 10 s. */
  sweepIntervalMs?: number;
  /** Clock (epoch ms); injectable for tests. */
  now?: () => number;
}

export class InMemoryTicketRepository extends TicketRepository implements OnModuleDestroy {
  private readonly tickets = new Map<string, TicketRecord>();
  /** Ticket ids per project, for the outstanding-ticket cap (kept in step with `tickets`). */
  private readonly byProject = new Map<string, Set<string>>();
  private readonly now: () => number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: InMemoryTicketRepositoryOptions = {}) {
    super();
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 10_000);
    this.sweeper.unref();
  }

  async save(ticket: TicketRecord, options: TicketSaveOptions = {}): Promise<void> {
    if (this.tickets.has(ticket.id)) throw new Error('ticket id collision');
    const max = options.maxOutstandingPerProject;
    const ids = this.byProject.get(ticket.projectId) ?? new Set<string>();
    if (max !== undefined && ids.size >= max) {
      // Expired tickets no longer count: drop this project's before deciding.
      const now = this.now();
      for (const id of ids) if (!((this.tickets.get(id)?.expiresAt ?? 0) > now)) this.forget(id);
      if (ids.size >= max) throw new OutstandingTicketLimitError(ticket.projectId);
    }
    this.tickets.set(ticket.id, ticket);
    ids.add(ticket.id);
    this.byProject.set(ticket.projectId, ids);
  }

  async consume(id: string): Promise<TicketRecord | null> {
    // get + delete run without an await between them: no other call can interleave.
    const ticket = this.tickets.get(id);
    if (!ticket) return null;
    this.forget(id);
    return ticket.expiresAt > this.now() ? ticket : null;
  }

  /** Unredeemed tickets of a project still held (expired ones not yet swept included). */
  outstanding(projectId: string): number {
    return this.byProject.get(projectId)?.size ?? 0;
  }

  /** Number of stored (possibly expired, not yet swept) tickets. */
  get size(): number {
    return this.tickets.size;
  }

  sweep(): void {
    const now = this.now();
    for (const [id, ticket] of this.tickets) {
      if (ticket.expiresAt <= now) this.forget(id);
    }
  }

  private forget(id: string): void {
    const ticket = this.tickets.get(id);
    if (!ticket) return;
    this.tickets.delete(id);
    const ids = this.byProject.get(ticket.projectId);
    ids?.delete(id);
    if (ids?.size === 0) this.byProject.delete(ticket.projectId);
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  onModuleDestroy(): void {
    this.close();
  }
}
