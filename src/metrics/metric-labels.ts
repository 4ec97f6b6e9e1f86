// Bounded label values. Every value that comes from outside the process (a model id, an error
// code, a field name, an end reason) goes through one of these sets before it becomes a label, so
// a client cannot grow the number of time series: anything unknown becomes `other`.
import { ErrorCode } from '../errors/error-codes.js';
import { SESSION_CONFIG_FIELDS } from '../session-config/session-config.js';

export const OTHER = 'other';

/**
 * Outcomes of an admission at upgrade time (a ticket redemption, or a bearer runtime key):
 * `replayed` / `expired` / `unknown` are the three kinds of refused ticket (all one 401
 * `invalid_ticket` outside); `invalid_api_key` is any refused bearer key.
 */
export const REDEMPTION_OUTCOMES = [
  'ok',
  'replayed',
  'expired',
  'unknown',
  'store_unavailable',
  'limit_reached',
  'key_revoked',
  'auth_unavailable',
  'missing_credentials',
  'invalid_api_key',
  'server_draining',
  'internal_error',
  'origin_not_allowed',
] as const;
export type RedemptionOutcome = (typeof REDEMPTION_OUTCOMES)[number];

/** Which way a frame went on the client socket. */
export type RelayDirection = 'client_to_upstream' | 'upstream_to_client';
export const RELAY_DIRECTIONS: readonly RelayDirection[] = ['client_to_upstream', 'upstream_to_client'];

/** Who did not keep up with the stream. */
export type SlowConsumerSide = 'client' | 'upstream';
export const SLOW_CONSUMER_SIDES: readonly SlowConsumerSide[] = ['client', 'upstream'];

/**
 * Codes a label may carry: the whole `error.code` vocabulary, `ok` (success) and
 * `client_closed` (a session ended by its client).
 */
export const KNOWN_CODES: readonly string[] = [...Object.values(ErrorCode), 'ok', 'client_closed'];

/** A closed set of label values; `clamp` maps anything outside it to `other`. */
export class LabelSet {
  private readonly values: ReadonlySet<string>;

  constructor(values: Iterable<string>) {
    this.values = new Set(values);
  }

  clamp(value: unknown): string {
    return typeof value === 'string' && this.values.has(value) ? value : OTHER;
  }

  has(value: string): boolean {
    return this.values.has(value);
  }
}

export const CODE_LABELS = new LabelSet(KNOWN_CODES);
export const FIELD_LABELS = new LabelSet(SESSION_CONFIG_FIELDS);
export const REDEMPTION_LABELS = new LabelSet(REDEMPTION_OUTCOMES);
export const DIRECTION_LABELS = new LabelSet(RELAY_DIRECTIONS);
export const SIDE_LABELS = new LabelSet(SLOW_CONSUMER_SIDES);

/** An HTTP status as a label: three digits in [100, 599], else `other`. */
export function statusLabel(status: unknown): string {
  const n = typeof status === 'string' ? Number(status) : status;
  return typeof n === 'number' && Number.isInteger(n) && n >= 100 && n <= 599 ? String(n) : OTHER;
}
