// The one preparation of a session config, used at mint (the ticket's bound config) and at
// session.start / session.update (docs/protocol.md §1, §3.2, §6): validate what the client sent, apply
// the ticket overlay, require a model, then check the model (catalogue, capabilities, a provider
// to serve it). Errors are RealtimeApiError values (400) with the codes the contract names.
// "Is a provider configured" is passed in, so this folder needs nothing from providers/.
import { HttpStatus } from '@nestjs/common';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeApiError } from '../errors/realtime-api.error.js';
import { assertCapabilities, assertHonoured, assertUpdatable, resolveRealtimeModel } from './capabilities.js';
import { providerOf, type ModelCatalogue, type ModelDefinition } from './model-catalogue.js';
import { applyOverlay, type TicketBinding } from './overlay.js';
import { SessionConfigDto } from './session-config.dto.js';
import type { SessionConfig, SessionConfigField } from './session-config.js';
import { assertValid } from './validation.js';
import { compactConfig, isZeroValue } from './zero-value.js';

/** What a config is checked against: the catalogue and the providers this gateway can reach. */
export interface ModelCheckContext {
  catalogue: ModelCatalogue;
  /** True when a provider is configured for this (catalogue) model id. */
  hasProvider(modelId: string): boolean;
}

/**
 * The model a config names, once the config passes every check: a realtime model of the catalogue,
 * whose capabilities cover the config's non-zero fields, whose provider honours each of them (no
 * silent drops: `unsupported_by_provider` naming the field), with a configured provider. Throws a 400.
 */
export function checkModelConfig(config: SessionConfig, context: ModelCheckContext): ModelDefinition {
  const model = resolveRealtimeModel(context.catalogue, config.model as string);
  assertCapabilities(config, model);
  assertHonoured(config, model);
  // A model nobody can serve would only fail later (in the browser, for a minted ticket).
  if (!context.hasProvider(model.id)) {
    throw new RealtimeApiError(
      HttpStatus.BAD_REQUEST,
      ErrorCode.ProviderNotConfigured,
      `No provider is configured for ${model.id} on this gateway (${providerOf(model.id)} is not enabled: it has no credentials, or is off)`,
      { field: 'model' },
    );
  }
  return model;
}

/** Mint time: a ticket's bound config is checked only when it binds a model. */
export function assertBindableConfig(config: SessionConfig, context: ModelCheckContext): void {
  if (!isZeroValue(config.model)) checkModelConfig(config, context);
}

export interface ConfigRequest {
  /** The `config` object of this client event, as sent (validated here). */
  sent: Record<string, unknown>;
  /** What the client asks for: `sent` at start, the live config merged with `sent` at update. */
  requested: Record<string, unknown>;
  /** The ticket's binding; absent for bearer sessions (no overlay). */
  binding: TicketBinding | undefined;
  /** At `session.update`: the live effective config (fields the model cannot change mid-session are refused). */
  current?: SessionConfig;
}

export type PreparedConfig =
  | { ok: true; config: SessionConfig; model: ModelDefinition; overridden: SessionConfigField[] }
  /** `overridden` is still reported: the client is told about locked fields even when it is refused. */
  | { ok: false; error: RealtimeApiError; overridden: SessionConfigField[] };

/** Session time: validate → overlay → compact → model required → checkModelConfig. */
export function prepareSessionConfig(request: ConfigRequest, context: ModelCheckContext): PreparedConfig {
  try {
    assertValid(SessionConfigDto, request.sent, 'config');
  } catch (err) {
    return refused(err, []);
  }
  const { effective, overridden } = applyOverlay(request.binding, request.requested as SessionConfig, Object.keys(request.sent));
  const config = compactConfig(effective);
  if (isZeroValue(config.model)) {
    return { ok: false, overridden, error: new RealtimeApiError(HttpStatus.BAD_REQUEST, ErrorCode.ModelRequired, 'config.model is required') };
  }
  try {
    const model = checkModelConfig(config, context);
    if (request.current) assertUpdatable(request.current, config, model);
    return { ok: true, config, model, overridden };
  } catch (err) {
    return refused(err, overridden);
  }
}

function refused(err: unknown, overridden: SessionConfigField[]): PreparedConfig {
  // Only error values are refusals; anything else is a bug and must surface.
  if (err instanceof RealtimeApiError) return { ok: false, error: err, overridden };
  throw err;
}
