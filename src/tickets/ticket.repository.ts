// The ticket store abstraction. The abstract class is both the type and the DI token, so a host
// app can provide its own (`{ provide: TicketRepository, useClass: MyStore }`) or override it in tests.
import type { TicketRecord } from './ticket.record.js';

/** Why a store refused a ticket. Outside, all three are the same 401 `invalid_ticket`. */
export type TicketRefusal = 'replayed' | 'expired' | 'unknown';

/** What a redemption found: the ticket (now spent), or why there was none. */
export type TicketRedemption = { ticket: TicketRecord } | { refused: TicketRefusal };

/**
 * How long past `expiresAt` a store still tells a spent ticket (`replayed`) or an expired one
 * (`expired`) apart from one it never saw (`unknown`). Counting only: every refusal is refused.
 */
export const DEFAULT_REFUSAL_MEMORY_MS = 60_000;

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
   * `consume`, saying why a ticket was refused (for metrics and logs; the client is told the same
   * 401 whatever the reason). The same exactly-once rule holds. This default knows no more than
   * `consume`, so a store that does not override it reports every refusal as `unknown`.
   */
  async redeem(id: string): Promise<TicketRedemption> {
    const ticket = await this.consume(id);
    return ticket ? { ticket } : { refused: 'unknown' };
  }

  /**
   * Resolves when the store can answer right now, throws when it cannot (readiness: GET
   * /health/ready is 503 while it throws). The default resolves: override it in a store that
   * depends on a server.
   */
  async ping(): Promise<void> {}
}
