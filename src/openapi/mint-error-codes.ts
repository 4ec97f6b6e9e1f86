// Every error POST /v3/realtime-sessions answers, with its HTTP status: the contract the OpenAPI
// document publishes. Read from the code that throws them (auth, mint-request parsing, config
// validation and capabilities, the ticket service, the error filter) and from test/issuance.
import { ErrorCode } from '../errors/error-codes.js';

export interface MintErrorCode {
  code: string;
  status: number;
  description: string;
}

export const MINT_ERROR_CODES: readonly MintErrorCode[] = [
  { status: 400, code: ErrorCode.InvalidRequest, description: 'The body is not a JSON object, or a field has the wrong shape.' },
  { status: 400, code: ErrorCode.InvalidJson, description: 'The body is not valid JSON.' },
  { status: 400, code: ErrorCode.InvalidField, description: 'A config field has a wrong type or value (`details.field` names it).' },
  { status: 400, code: ErrorCode.UnknownField, description: 'An unknown config key (typo guard).' },
  { status: 400, code: ErrorCode.InvalidLockedField, description: '`locked_fields` names something that is not a config field.' },
  { status: 400, code: ErrorCode.InvalidTtl, description: '`ttl_seconds` is not an integer.' },
  { status: 400, code: ErrorCode.UnknownModel, description: 'The bound `model` is not in the model catalogue.' },
  { status: 400, code: ErrorCode.NotRealtimeModel, description: 'The bound `model` is known but is not a realtime model.' },
  { status: 400, code: ErrorCode.UnsupportedVoice, description: "The bound `voice` is not one of the model's voices." },
  { status: 400, code: ErrorCode.UnsupportedModality, description: 'A bound modality is not supported by the model.' },
  { status: 400, code: ErrorCode.UnsupportedReasoningEffort, description: 'The model does not take `reasoning_effort`.' },
  { status: 400, code: ErrorCode.UnsupportedTurnDetection, description: 'The model does not support this `turn_detection.type`.' },
  { status: 400, code: ErrorCode.ProviderNotConfigured, description: "The bound model's provider is not configured on this gateway." },
  { status: 400, code: ErrorCode.UnsupportedByProvider, description: "A bound field the model's provider cannot honour (never silently dropped; `details.field` names it)." },
  { status: 400, code: ErrorCode.InvalidIdempotencyKey, description: 'The `Idempotency-Key` header is malformed.' },
  { status: 401, code: ErrorCode.MissingCredentials, description: 'No Authorization header.' },
  { status: 401, code: ErrorCode.InvalidAuthorizationHeader, description: 'The Authorization header is not `Bearer <key>`.' },
  { status: 401, code: ErrorCode.ManagementKeyNotAllowed, description: 'A management key (`opmak-…`) was used: use a project runtime key.' },
  { status: 401, code: ErrorCode.InvalidApiKey, description: 'Unknown API key.' },
  { status: 401, code: ErrorCode.NotRuntimeKey, description: 'The key is not a runtime API key.' },
  { status: 401, code: ErrorCode.KeyWithoutProject, description: 'The key is not scoped to a project.' },
  { status: 409, code: ErrorCode.IdempotencyKeyReused, description: 'The `Idempotency-Key` was used with a different body.' },
  { status: 413, code: ErrorCode.PayloadTooLarge, description: 'The body is larger than the server accepts.' },
  { status: 415, code: ErrorCode.UnsupportedMediaType, description: 'A body that is not `application/json`.' },
  { status: 429, code: ErrorCode.RateLimited, description: 'Too many mints with this API key per second; `Retry-After` says when to retry.' },
  { status: 429, code: ErrorCode.TooManyOutstandingTickets, description: 'The project holds its limit of unredeemed tickets; redeem or let some expire.' },
  { status: 500, code: ErrorCode.InternalError, description: 'An unexpected server error.' },
  { status: 501, code: ErrorCode.NotSupported, description: 'Idempotent minting needs a ticket store that supports it (a custom TicketRepository may not).' },
  { status: 503, code: ErrorCode.TicketsDisabled, description: 'Realtime tickets are disabled on this deployment.' },
  { status: 503, code: ErrorCode.TicketStoreUnavailable, description: 'The ticket store cannot be reached; no ticket was issued (fail closed).' },
  { status: 503, code: ErrorCode.AuthUnavailable, description: 'API keys cannot be verified right now.' },
  { status: 503, code: ErrorCode.ServerDraining, description: 'The instance is shutting down and takes no new sessions; retry (another instance).' },
];

/** The codes of each status, in table order. */
export function mintErrorCodesByStatus(): Map<number, MintErrorCode[]> {
  const byStatus = new Map<number, MintErrorCode[]>();
  for (const entry of MINT_ERROR_CODES) byStatus.set(entry.status, [...(byStatus.get(entry.status) ?? []), entry]);
  return byStatus;
}
