// Parsing of the POST /v3/realtime-sessions body (docs/protocol.md §1) into what a ticket binds.
import { HttpStatus } from '@nestjs/common';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeApiError } from '../errors/realtime-api.error.js';
import {
  DEFAULT_TICKET_TTL_SECONDS,
  MAX_TICKET_TTL_SECONDS,
  MIN_TICKET_TTL_SECONDS,
} from '../common/module-settings.js';
import { CreateRealtimeSessionDto } from '../session-config/session-config.dto.js';
import { isSessionConfigField, type SessionConfig, type SessionConfigField } from '../session-config/session-config.js';
import type { MintRequest } from '../tickets/ticket-request.js';
import { compactConfig } from '../session-config/zero-value.js';
import { canonicalOrigin } from '../common/origin.js';
import { assertValid, isPlainObject } from '../session-config/validation.js';


function badRequest(code: ErrorCode, message: string, details?: unknown): RealtimeApiError {
  return new RealtimeApiError(HttpStatus.BAD_REQUEST, code, message, details);
}

/** `body` is the parsed JSON (undefined for an empty body). */
export function parseMintRequest(body: unknown): MintRequest {
  // Only a missing body means `{}`: a JSON `null` body is not an object (Fastify parses it to null).
  if (body === undefined) return { config: {}, lockedFields: [], ttlSeconds: DEFAULT_TICKET_TTL_SECONDS };
  if (!isPlainObject(body)) throw badRequest(ErrorCode.InvalidRequest, 'Request body must be a JSON object');
  rejectUnsafeKeys(body, '');
  if (isPlainObject(body.config)) rejectUnsafeKeys(body.config, 'config');
  if (isPlainObject(body.metadata)) rejectUnsafeKeys(body.metadata, 'metadata');

  if (typeof body.ttl_seconds === 'number' && !Number.isInteger(body.ttl_seconds)) {
    throw badRequest(ErrorCode.InvalidTtl, 'ttl_seconds must be an integer', { field: 'ttl_seconds' });
  }
  if (body.ttl_seconds !== undefined && body.ttl_seconds !== null && typeof body.ttl_seconds !== 'number') {
    throw badRequest(ErrorCode.InvalidTtl, 'ttl_seconds must be an integer', { field: 'ttl_seconds' });
  }
  assertValid(CreateRealtimeSessionDto, body);

  const lockedFields: SessionConfigField[] = [];
  for (const name of (body.locked_fields as unknown[] | null | undefined) ?? []) {
    if (!isSessionConfigField(name)) {
      throw badRequest(ErrorCode.InvalidLockedField, `Unknown locked field "${String(name)}"`, { field: 'locked_fields', value: name });
    }
    if (!lockedFields.includes(name)) lockedFields.push(name);
  }

  const ttl = (body.ttl_seconds as number | null | undefined) || DEFAULT_TICKET_TTL_SECONDS;
  const request: MintRequest = {
    config: body.config ? compactConfig(body.config as SessionConfig) : {},
    lockedFields,
    ttlSeconds: Math.min(MAX_TICKET_TTL_SECONDS, Math.max(MIN_TICKET_TTL_SECONDS, ttl)),
  };
  // Both were checked by the DTO (a string map; origins that canonicalOrigin accepts).
  const metadata = body.metadata as Record<string, string> | null | undefined;
  if (metadata && Object.keys(metadata).length > 0) request.metadata = { ...metadata };
  const origins = (body.allowed_origins as string[] | null | undefined) ?? [];
  if (origins.length > 0) request.allowedOrigins = [...new Set(origins.map((origin) => canonicalOrigin(origin)!))];
  return request;
}

/**
 * class-transformer silently skips `__proto__` and `constructor` keys, so the DTO whitelist never sees
 * them: without this they would pass the unknown-field guard, and `compact` would turn a
 * `config.__proto__` object into the prototype of the bound config (fields that skipped validation).
 */
function rejectUnsafeKeys(object: Record<string, unknown>, prefix: string): void {
  for (const key of ['__proto__', 'constructor']) {
    if (Object.prototype.hasOwnProperty.call(object, key)) {
      const field = prefix ? `${prefix}.${key}` : key;
      throw badRequest(ErrorCode.UnknownField, `Unknown field "${field}"`, { field, errors: [{ field, message: `Unknown field "${field}"` }] });
    }
  }
}
