// Default ticket store for a single instance. Expired tickets are swept by an unref'd timer
// that is cleared on shutdown, so the store neither keeps the process alive nor grows unbounded.
// A spent or expired ticket leaves a small tombstone until `refusalMemoryMs` past its expiry, so a
// replay is told apart from an expired or unknown ticket (for metrics; each is refused alike).
import type { OnModuleDestroy } from '@nestjs/common';
import type { TicketRecord } from './ticket.record.js';
import {
  DEFAULT_REFUSAL_MEMORY_MS,
  OutstandingTicketLimitError,
  TicketRepository,
  ticketAllowsOrigin,
  type RevokeOutcome,
  type TicketRedemption,
  type TicketSaveOptions,
} from './ticket.repository.js';

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

interface PublicIndexEntry {
  id: string;
  projectId: string;
  expiresAt: number;
}

export class InMemoryTicketRepository extends TicketRepository implements OnModuleDestroy {
  private readonly tickets = new Map<string, TicketRecord>();
  private readonly tombstones = new Map<string, Tombstone>();
  /** Public id → digest, kept as long as the ticket would live (so a redeemed one says so). */
  private readonly byPublicId = new Map<string, PublicIndexEntry>();
  /** Ticket ids per project, for the outstanding-ticket cap (kept in step with `tickets`). */
  private readonly byProject = new Map<string, Set<string>>();
  private readonly mintResponses = new Map<string, { value: string; expiresAt: number }>();
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

  async save(ticket: TicketRecord, options: TicketSaveOptions = {}): Promise<void> {
    if (this.tickets.has(ticket.id) || this.tombstones.has(ticket.id)) throw new Error('ticket id collision');
    if (ticket.publicId !== undefined && this.byPublicId.has(ticket.publicId)) throw new Error('ticket public id collision');
    const max = options.maxOutstandingPerProject;
    const ids = this.byProject.get(ticket.projectId) ?? new Set<string>();
    if (max !== undefined && ids.size >= max) {
      // Expired tickets no longer count: bury this project's before deciding.
      const now = this.now();
      for (const id of ids) {
        const held = this.tickets.get(id);
        if (!held || held.expiresAt <= now) this.expire(id);
      }
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
    const redemption = this.take(id, false, undefined);
    return 'ticket' in redemption ? redemption.ticket : null;
  }

  override async redeem(id: string, origin?: string): Promise<TicketRedemption> {
    return this.take(id, true, origin);
  }

  /** Always ready: the store is this process's memory. */
  override async ping(): Promise<void> {}

  override async revoke(publicId: string, projectId: string): Promise<RevokeOutcome> {
    const entry = this.byPublicId.get(publicId);
    if (!entry || entry.projectId !== projectId || entry.expiresAt <= this.now()) return 'not_found';
    this.byPublicId.delete(publicId);
    if (!this.tickets.has(entry.id)) return 'already_redeemed';
    // Gone without a tombstone: a later upgrade with it is refused like any unknown ticket.
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
    let expired = 0;
    for (const [id, ticket] of this.tickets) {
      if (ticket.expiresAt > now) continue;
      this.expire(id);
      expired += 1;
    }
    for (const [id, tombstone] of this.tombstones) {
      if (tombstone.until <= now) this.tombstones.delete(id);
    }
    for (const [publicId, entry] of this.byPublicId) {
      if (entry.expiresAt <= now) this.byPublicId.delete(publicId);
    }
    for (const [key, entry] of this.mintResponses) {
      if (entry.expiresAt <= now) this.mintResponses.delete(key);
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

  /**
   * Takes the ticket, unless `checkOrigin` and it is live and bound to other origins than `origin`
   * (then it stays, unspent).
   * Synchronous, so no other call can interleave between the check, the get and the delete.
   */
  private take(id: string, checkOrigin: boolean, origin: string | undefined): TicketRedemption {
    const now = this.now();
    const ticket = this.tickets.get(id);
    if (ticket) {
      if (ticket.expiresAt > now) {
        if (checkOrigin && !ticketAllowsOrigin(ticket, origin)) return { refused: 'origin_not_allowed' };
        this.forget(id);
        this.bury(id, 'replayed', ticket.expiresAt);
        return { ticket };
      }
      this.expire(id);
      this.onExpiredUnredeemed?.(1);
      return { refused: 'expired' };
    }
    const tombstone = this.tombstones.get(id);
    if (tombstone && tombstone.until > now) return { refused: tombstone.refused };
    return { refused: 'unknown' };
  }

  /** An expired ticket leaves the store and is remembered as `expired`. */
  private expire(id: string): void {
    const ticket = this.tickets.get(id);
    if (!ticket) return;
    this.forget(id);
    this.bury(id, 'expired', ticket.expiresAt);
  }

  private bury(id: string, refused: Tombstone['refused'], expiresAt: number): void {
    this.tombstones.set(id, { refused, until: expiresAt + this.refusalMemoryMs });
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
}
