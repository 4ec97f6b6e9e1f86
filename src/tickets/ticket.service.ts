// Minting: turns an authenticated, validated request into a stored single-use ticket.
// Fails closed: a ticket that could not be stored is never handed out.
import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import type { RuntimeIdentity } from '../auth/api-key.authenticator.js';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeApiError } from '../errors/realtime-api.error.js';
import { RESOLVED_OPTIONS, type ResolvedRealtimeSessionsOptions } from '../common/module-settings.js';
import { assertCapabilities, resolveRealtimeModel } from '../session-config/capabilities.js';
import { ProviderRegistry } from '../providers/provider-registry.js';
import { ModelCatalogue, providerOf } from '../session-config/model-catalogue.js';
import { isZeroValue } from '../session-config/zero-value.js';
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

  constructor(
    private readonly repository: TicketRepository,
    private readonly catalogue: ModelCatalogue,
    private readonly providers: ProviderRegistry,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedRealtimeSessionsOptions,
  ) {}

  assertEnabled(): void {
    if (!this.options.ticketsEnabled) {
      throw new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.TicketsDisabled, 'Realtime tickets are disabled on this deployment');
    }
  }

  /** Checks a bound config against the catalogue; throws a 400 RealtimeApiError. */
  assertBindable(request: MintRequest): void {
    const modelId = request.config.model;
    if (isZeroValue(modelId)) return;
    const model = resolveRealtimeModel(this.catalogue, modelId as string);
    // A ticket for a model nobody can serve would only fail later, in the browser.
    if (!this.providers.forModel(model.id)) {
      throw new RealtimeApiError(
        HttpStatus.BAD_REQUEST,
        ErrorCode.ProviderNotConfigured,
        `No provider is configured for ${model.id} on this gateway (${providerOf(model.id)} has no API key)`,
        { field: 'model' },
      );
    }
    assertCapabilities(request.config, model);
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
