// The ticket store abstraction. The abstract class is both the type and the DI token, so a host
// app can provide its own (`{ provide: TicketRepository, useClass: MyStore }`) or override it in tests.
// `save` and `consume` are all a store must implement; the backend-control operations (origin-bound
// redemption, revocation, idempotent minting) have defaults so that stores written before them keep
// working: see each method.
import type { TicketRecord } from './ticket.record.js';

/**
 * Why a store refused a ticket. Outside, the first three are the same 401 `invalid_ticket`;
 * `origin_not_allowed` (a live ticket bound to other origins, left unspent) is a 403.
 */
export type TicketRefusal = 'replayed' | 'expired' | 'unknown' | 'origin_not_allowed';

/** What a redemption found: the ticket (now spent), or why there was none. */
export type TicketRedemption = { ticket: TicketRecord } | { refused: TicketRefusal };

/**
 * How long past `expiresAt` a store still tells a spent ticket (`replayed`) or an expired one
 * (`expired`) apart from one it never saw (`unknown`). Counting only: every refusal is refused.
 */
export const DEFAULT_REFUSAL_MEMORY_MS = 60_000;

/** How a revocation went: `already_redeemed` while the ticket's index outlives its redemption. */
export type RevokeOutcome = 'revoked' | 'not_found' | 'already_redeemed';

/** Thrown by the defaults of optional operations a custom store does not implement (answered 501). */
export class UnsupportedTicketOperation extends Error {
  constructor(readonly operation: string) {
    super(`This ticket store does not support ${operation}`);
  }
}

/** Whether a ticket may be redeemed from `origin` (canonical; undefined when the upgrade sent none). */
export function ticketAllowsOrigin(ticket: TicketRecord, origin: string | undefined): boolean {
  const allowed = ticket.allowedOrigins;
  if (!allowed || allowed.length === 0) return true;
  return origin !== undefined && allowed.includes(origin);
}

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

  /**
   * The upgrade's redemption: `consume`, only from an allowed origin, saying why a ticket was
   * refused. A live ticket whose `allowedOrigins` does not include `origin` (undefined: the upgrade
   * sent none) is left in place and refused `origin_not_allowed`, atomically with any concurrent
   * redemption or revoke, so a wrong-origin upgrade never burns the ticket of a right one. The other
   * reasons are for metrics and logs (the client gets the same 401 for each); the same exactly-once
   * rule holds. This default knows no more than `consume`: it reports every refusal as `unknown`,
   * and checks the origin after taking the ticket (the origin is enforced, but a wrong one spends
   * it). The built-in stores override it.
   */
  async redeem(id: string, origin?: string): Promise<TicketRedemption> {
    const ticket = await this.consume(id);
    if (!ticket) return { refused: 'unknown' };
    return ticketAllowsOrigin(ticket, origin) ? { ticket } : { refused: 'origin_not_allowed' };
  }

  /**
   * Resolves when the store can answer right now, throws when it cannot (readiness: GET
   * /health/ready is 503 while it throws). The default resolves: override it in a store that
   * depends on a server.
   */
  async ping(): Promise<void> {}

  /**
   * Revoke the outstanding ticket with this public id, if it belongs to `projectId` (another
   * project's id is `not_found`). Exactly one of a revoke and a consume of the same ticket wins.
   */
  async revoke(publicId: string, projectId: string): Promise<RevokeOutcome> {
    void publicId;
    void projectId;
    throw new UnsupportedTicketOperation('revocation');
  }

  /**
   * Idempotent minting: store `value` (an encrypted mint response) under `key` until `expiresAt`
   * unless a value is already there. Resolves true when stored, false when another was first.
   */
  async saveMintResponse(key: string, value: string, expiresAt: number): Promise<boolean> {
    void key;
    void value;
    void expiresAt;
    throw new UnsupportedTicketOperation('idempotent minting');
  }

  /** The value `saveMintResponse` stored under `key`, or null (none, or expired). */
  async findMintResponse(key: string): Promise<string | null> {
    void key;
    throw new UnsupportedTicketOperation('idempotent minting');
  }
}
