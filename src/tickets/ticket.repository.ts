// The ticket store abstraction. The abstract class is both the type and the DI token, so a host
// app can provide its own (`{ provide: TicketRepository, useClass: MyStore }`) or override it in tests.
import type { TicketRecord } from './ticket.record.js';

export abstract class TicketRepository {
  /** Store a new ticket until its `expiresAt`. Must throw when the ticket could not be stored. */
  abstract save(ticket: TicketRecord): Promise<void>;

  /**
   * Atomically take the ticket with this id: the first call for a live ticket resolves the record,
   * every later or concurrent call (on any instance) resolves `null`, and so does any call after
   * `expiresAt`. Throws when the store cannot be reached (callers fail closed).
   */
  abstract consume(id: string): Promise<TicketRecord | null>;

  /**
   * Resolves when the store can answer right now, throws when it cannot (readiness: GET
   * /health/ready is 503 while it throws). The default resolves: override it in a store that
   * depends on a server.
   */
  async ping(): Promise<void> {}
}
