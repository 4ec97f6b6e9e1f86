// Minting: turns an authenticated, validated request into a stored single-use ticket, optionally
// idempotent (the same Idempotency-Key and body give the same ticket); and revocation by public id.
// Fails closed: a ticket that could not be stored is never handed out.
import { HttpStatus, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { RuntimeIdentity } from '../auth/api-key.authenticator.js';
import { ErrorCode } from '../errors/error-codes.js';
import { DrainState } from '../health/drain-state.js';
import { RealtimeApiError } from '../errors/realtime-api.error.js';
import { RESOLVED_OPTIONS, type ResolvedRealtimeSessionsOptions } from '../common/module-settings.js';
import { assertBindableConfig, type ModelCheckContext } from '../session-config/config-preparation.js';
import { ProviderRegistry } from '../providers/provider-registry.js';
import { ModelCatalogue } from '../session-config/model-catalogue.js';
import { IDEMPOTENCY_KEY, idempotencySlot, openMint, requestFingerprint, sealMint, type IdempotencySlot } from './idempotent-mint.js';
import { generatePublicTicketId, generateTicketSecret, PUBLIC_TICKET_ID, ticketIdOf } from './ticket-secret.js';
import type { MintRequest } from './ticket-request.js';
import type { TicketRecord } from './ticket.record.js';
import { OutstandingTicketLimitError, TicketRepository, UnsupportedTicketOperation } from './ticket.repository.js';

export interface MintedTicket {
  /** The client secret: returned to the minting backend (only), never stored in plain form or logged. */
  secret: string;
  record: TicketRecord;
}

function storeUnavailable(message: string): RealtimeApiError {
  return new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.TicketStoreUnavailable, message);
}

function notSupported(err: UnsupportedTicketOperation): RealtimeApiError {
  return new RealtimeApiError(HttpStatus.NOT_IMPLEMENTED, ErrorCode.NotSupported, `${err.message} (a custom TicketRepository)`);
}

@Injectable()
export class TicketService {
  private readonly logger = new Logger(TicketService.name);
  private readonly models: ModelCheckContext;

  constructor(
    private readonly repository: TicketRepository,
    catalogue: ModelCatalogue,
    providers: ProviderRegistry,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedRealtimeSessionsOptions,
    @Optional() private readonly drain?: DrainState,
  ) {
    this.models = { catalogue, hasProvider: (modelId) => providers.forModel(modelId) !== undefined };
  }

  assertEnabled(): void {
    if (!this.options.ticketsEnabled) {
      throw new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.TicketsDisabled, 'Realtime tickets are disabled on this deployment');
    }
    // A ticket minted now would most likely be redeemed here after upgrades stopped: refuse, so the
    // backend retries (its load balancer sends the retry to an instance that is not draining).
    if (this.drain?.isDraining) {
      throw new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.ServerDraining, 'This instance is shutting down and issues no new tickets; retry');
    }
  }

  /**
   * Checks a bound config with the same rules a session start applies (fail at mint, not later in
   * the browser); throws a 400 RealtimeApiError.
   */
  assertBindable(request: MintRequest): void {
    assertBindableConfig(request.config, this.models);
  }

  async mint(identity: RuntimeIdentity, request: MintRequest, now = Date.now()): Promise<MintedTicket> {
    this.assertEnabled();
    this.assertBindable(request);
    const secret = generateTicketSecret();
    const record: TicketRecord = {
      id: ticketIdOf(secret),
      projectId: identity.projectId,
      keyId: identity.keyId,
      config: request.config,
      lockedFields: request.lockedFields,
      createdAt: now,
      expiresAt: now + request.ttlSeconds * 1000,
      publicId: generatePublicTicketId(),
      ...(request.metadata ? { metadata: request.metadata } : {}),
      ...(request.allowedOrigins ? { allowedOrigins: request.allowedOrigins } : {}),
    };
    try {
      await this.repository.save(record, { maxOutstandingPerProject: this.options.limits.maxOutstandingTicketsPerProject });
    } catch (err) {
      if (err instanceof OutstandingTicketLimitError) {
        throw new RealtimeApiError(
          HttpStatus.TOO_MANY_REQUESTS,
          ErrorCode.TooManyOutstandingTickets,
          `This project already holds ${this.options.limits.maxOutstandingTicketsPerProject} unredeemed tickets; redeem or let some expire first`,
        );
      }
      this.logger.error(`Ticket store failed on save: ${(err as Error)?.message ?? String(err)}`);
      throw storeUnavailable('The ticket store is unavailable; no ticket was issued');
    }
    return { secret, record };
  }

  /** Throws a 400 when an Idempotency-Key header value cannot be one. */
  assertIdempotencyKey(key: string): void {
    if (!IDEMPOTENCY_KEY.test(key)) {
      throw new RealtimeApiError(HttpStatus.BAD_REQUEST, ErrorCode.InvalidIdempotencyKey, 'Idempotency-Key must be 1-255 visible ASCII characters', {
        field: 'Idempotency-Key',
      });
    }
  }

  /**
   * `mint`, once per (project, Idempotency-Key) within the ticket's lifetime: a retry with the same
   * body gets the same ticket (same secret, id and expiry), another body a 409. Two concurrent
   * first requests both mint, but only one response is stored; the other withdraws its ticket and
   * answers with the stored one.
   */
  async mintIdempotent(identity: RuntimeIdentity, request: MintRequest, idempotencyKey: string, now = Date.now()): Promise<MintedTicket> {
    this.assertEnabled();
    this.assertIdempotencyKey(idempotencyKey);
    this.assertBindable(request);
    const slot = idempotencySlot(identity.projectId, idempotencyKey);
    const fingerprint = requestFingerprint(request);
    const earlier = await this.storedMint(slot);
    if (earlier !== null) return this.replay(slot, earlier, fingerprint);

    const minted = await this.mint(identity, request, now);
    let stored: boolean;
    try {
      stored = await this.repository.saveMintResponse(slot.storeKey, sealMint(slot, { ...minted, fingerprint }), minted.record.expiresAt);
    } catch (err) {
      await this.withdraw(minted.record);
      if (err instanceof UnsupportedTicketOperation) throw notSupported(err);
      this.logger.error(`Ticket store failed on saving a mint response: ${(err as Error)?.message ?? String(err)}`);
      throw storeUnavailable('The ticket store is unavailable; no ticket was issued');
    }
    if (stored) return minted;
    await this.withdraw(minted.record);
    const winner = await this.storedMint(slot);
    if (winner === null) throw storeUnavailable('A concurrent request with this Idempotency-Key did not complete; retry');
    return this.replay(slot, winner, fingerprint);
  }

  /**
   * Revokes an outstanding ticket of the caller's project by its public id. 404 for an unknown id
   * or another project's (no probing across projects), 409 when it was already redeemed.
   */
  async revoke(identity: RuntimeIdentity, publicId: string): Promise<void> {
    const notFound = new RealtimeApiError(HttpStatus.NOT_FOUND, ErrorCode.TicketNotFound, 'No outstanding ticket with this id');
    if (!PUBLIC_TICKET_ID.test(publicId)) throw notFound;
    let outcome;
    try {
      outcome = await this.repository.revoke(publicId, identity.projectId);
    } catch (err) {
      if (err instanceof UnsupportedTicketOperation) throw notSupported(err);
      this.logger.error(`Ticket store failed on revoke: ${(err as Error)?.message ?? String(err)}`);
      throw storeUnavailable('The ticket store is unavailable; the ticket was not revoked');
    }
    if (outcome === 'not_found') throw notFound;
    if (outcome === 'already_redeemed') {
      throw new RealtimeApiError(
        HttpStatus.CONFLICT,
        ErrorCode.TicketAlreadyRedeemed,
        'This ticket was already redeemed: end its session with DELETE /v3/realtime-sessions/live/{session_id}',
      );
    }
  }

  private async storedMint(slot: IdempotencySlot): Promise<string | null> {
    try {
      return await this.repository.findMintResponse(slot.storeKey);
    } catch (err) {
      if (err instanceof UnsupportedTicketOperation) throw notSupported(err);
      this.logger.error(`Ticket store failed on reading a mint response: ${(err as Error)?.message ?? String(err)}`);
      throw storeUnavailable('The ticket store is unavailable; no ticket was issued');
    }
  }

  private replay(slot: IdempotencySlot, value: string, fingerprint: string): MintedTicket {
    const stored = openMint(slot, value);
    if (!stored || stored.fingerprint !== fingerprint) {
      throw new RealtimeApiError(
        HttpStatus.CONFLICT,
        ErrorCode.IdempotencyKeyReused,
        'This Idempotency-Key was already used with a different request body',
      );
    }
    return { secret: stored.secret, record: stored.record };
  }

  /** Takes back a ticket that will not be handed out (best effort: it expires anyway). */
  private async withdraw(record: TicketRecord): Promise<void> {
    await this.repository.consume(record.id).catch(() => undefined);
  }
}
