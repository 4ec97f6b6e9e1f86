// The ticket store abstraction. The abstract class is both the type and the DI token, so a host
// app can provide its own (`{ provide: TicketRepository, useClass: MyStore }`) or override it in tests.
import type { TicketRecord } from './ticket.record.js';

/** What a save must respect beyond storing the ticket. */
export interface TicketSaveOptions {
  /**
   * At most this many unexpired, unredeemed tickets per project, counting the new one (on every
   * instance that shares the store). A store that is full throws OutstandingTicketLimitError.
   */
  maxOutstandingPerProject?: number;
}

/** Thrown by `save` when the project already holds its limit of outstanding tickets (nothing was stored). */
export class OutstandingTicketLimitError extends Error {
  constructor(readonly projectId: string) {
    super('too many outstanding tickets');
    this.name = 'OutstandingTicketLimitError';
  }
}

export abstract class TicketRepository {
  /**
   * Store a new ticket until its `expiresAt`. Must throw when the ticket could not be stored, and
   * throw OutstandingTicketLimitError (storing nothing) when `options.maxOutstandingPerProject` is
   * reached. A custom store that ignores the option simply has no cap.
   */
  abstract save(ticket: TicketRecord, options?: TicketSaveOptions): Promise<void>;

  /**
   * Atomically take the ticket with this id: the first call for a live ticket resolves the record,
   * every later or concurrent call (on any instance) resolves `null`, and so does any call after
   * `expiresAt`. Throws when the store cannot be reached (callers fail closed).
   */
  abstract consume(id: string): Promise<TicketRecord | null>;
}
