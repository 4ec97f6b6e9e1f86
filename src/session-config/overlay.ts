// The ticket overlay (docs/protocol.md §6), the safety guarantee: fields the backend bound or locked at
// mint win over whatever the browser asks for, at session.start and at every session.update.
import { SESSION_CONFIG_FIELDS, type SessionConfig, type SessionConfigField } from './session-config.js';
import { isZeroValue, sameConfigValue } from './zero-value.js';

/** What a ticket binds (a TicketRecord is one). */
export interface TicketBinding {
  config: SessionConfig;
  lockedFields: readonly SessionConfigField[];
}

export interface OverlayResult {
  effective: SessionConfig;
  /** Fields the client set to something other than the bound value (each gets a `field_locked`). */
  overridden: SessionConfigField[];
}

/** Fields a ticket enforces: non-zero in its config, or listed in `locked_fields`. */
export function boundFields(binding: TicketBinding): SessionConfigField[] {
  return SESSION_CONFIG_FIELDS.filter((f) => !isZeroValue(binding.config[f]) || binding.lockedFields.includes(f));
}

/**
 * `requested` is what the client asked for (a whole config at start, the merged config at update);
 * `clientSet` are the keys the client actually sent in this event (only those can be "overridden").
 */
export function applyOverlay(binding: TicketBinding | undefined, requested: SessionConfig, clientSet: Iterable<string>): OverlayResult {
  if (!binding) return { effective: { ...requested }, overridden: [] };
  const effective: Record<string, unknown> = { ...requested };
  const sent = new Set(clientSet);
  const overridden: SessionConfigField[] = [];
  for (const field of boundFields(binding)) {
    const bound = binding.config[field];
    if (sent.has(field) && !sameConfigValue(requested[field], bound)) overridden.push(field);
    if (bound === undefined) delete effective[field];
    else effective[field] = structuredClone(bound);
  }
  return { effective: effective as SessionConfig, overridden };
}
