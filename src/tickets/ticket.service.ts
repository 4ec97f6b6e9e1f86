// Minting: turns an authenticated, validated request into a stored single-use ticket.
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
import { generateTicketSecret, ticketIdOf } from './ticket-secret.js';
import type { MintRequest } from './ticket-request.js';
import type { TicketRecord } from './ticket.record.js';
import { TicketRepository } from './ticket.repository.js';

export interface MintedTicket {
  /** The client secret: returned to the minting backend once, never stored or logged. */
  secret: string;
  record: TicketRecord;
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
    };
    try {
      await this.repository.save(record);
    } catch (err) {
      this.logger.error(`Ticket store failed on save: ${(err as Error)?.message ?? String(err)}`);
      throw new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.TicketStoreUnavailable, 'The ticket store is unavailable; no ticket was issued');
    }
    return { secret, record };
  }
}
