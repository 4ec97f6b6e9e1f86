// Default ticket store for a single instance. Expired tickets are swept by an unref'd timer
// that is cleared on shutdown, so the store neither keeps the process alive nor grows unbounded.
import type { OnModuleDestroy } from '@nestjs/common';
import type { TicketRecord } from './ticket.record.js';
import {
  ORIGIN_NOT_ALLOWED,
  OutstandingTicketLimitError,
  TicketRepository,
  ticketAllowsOrigin,
  type RevokeOutcome,
  type TicketSaveOptions,
} from './ticket.repository.js';

export interface InMemoryTicketRepositoryOptions {
  /** How often expired tickets are dropped. Default 10 s. */
  sweepIntervalMs?: number;
  /** Clock (epoch ms); injectable for tests. */
  now?: () => number;
}

interface PublicIndexEntry {
  id: string;
  projectId: string;
  expiresAt: number;
}

export class InMemoryTicketRepository extends TicketRepository implements OnModuleDestroy {
  private readonly tickets = new Map<string, TicketRecord>();
  /** Public id → digest, kept as long as the ticket would live (so a redeemed one says so). */
  private readonly byPublicId = new Map<string, PublicIndexEntry>();
  /** Ticket ids per project, for the outstanding-ticket cap (kept in step with `tickets`). */
  private readonly byProject = new Map<string, Set<string>>();
  private readonly mintResponses = new Map<string, { value: string; expiresAt: number }>();
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
    if (ticket.publicId !== undefined && this.byPublicId.has(ticket.publicId)) throw new Error('ticket public id collision');
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
    if (ticket.publicId !== undefined) {
      this.byPublicId.set(ticket.publicId, { id: ticket.id, projectId: ticket.projectId, expiresAt: ticket.expiresAt });
    }
  }

  async consume(id: string): Promise<TicketRecord | null> {
    // get + delete run without an await between them: no other call can interleave.
    const ticket = this.tickets.get(id);
    if (!ticket) return null;
    this.forget(id);
    return ticket.expiresAt > this.now() ? ticket : null;
  }

  /** Always ready: the store is this process's memory. */
  override async ping(): Promise<void> {}

  override async consumeFrom(id: string, origin: string | undefined): Promise<TicketRecord | null | typeof ORIGIN_NOT_ALLOWED> {
    // Check and take without an await between them: atomic within the process.
    const ticket = this.tickets.get(id);
    if (ticket && ticket.expiresAt > this.now() && !ticketAllowsOrigin(ticket, origin)) return ORIGIN_NOT_ALLOWED;
    return this.consume(id);
  }

  override async revoke(publicId: string, projectId: string): Promise<RevokeOutcome> {
    const entry = this.byPublicId.get(publicId);
    if (!entry || entry.projectId !== projectId || entry.expiresAt <= this.now()) return 'not_found';
    this.byPublicId.delete(publicId);
    if (!this.tickets.has(entry.id)) return 'already_redeemed';
    this.forget(entry.id);
    return 'revoked';
  }

  override async saveMintResponse(key: string, value: string, expiresAt: number): Promise<boolean> {
    const existing = this.mintResponses.get(key);
    if (existing && existing.expiresAt > this.now()) return false;
    this.mintResponses.set(key, { value, expiresAt });
    return true;
  }

  override async findMintResponse(key: string): Promise<string | null> {
    const entry = this.mintResponses.get(key);
    return entry && entry.expiresAt > this.now() ? entry.value : null;
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
    for (const [publicId, entry] of this.byPublicId) {
      if (entry.expiresAt <= now) this.byPublicId.delete(publicId);
    }
    for (const [key, entry] of this.mintResponses) {
      if (entry.expiresAt <= now) this.mintResponses.delete(key);
    }
  }

  /** Drops a ticket and its place in its project's outstanding count. */
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
