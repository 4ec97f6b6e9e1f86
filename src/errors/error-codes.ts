// The whole `error.code` vocabulary of the API, HTTP and WebSocket alike, in one place.
// Clients switch on these strings, so they are part of the contract: add, never rename.

export const ErrorCode = {
  // 400: the request itself is wrong
  InvalidRequest: 'invalid_request',
  InvalidJson: 'invalid_json',
  InvalidField: 'invalid_field',
  UnknownField: 'unknown_field',
  InvalidLockedField: 'invalid_locked_field',
  InvalidTtl: 'invalid_ttl',
  UnknownModel: 'unknown_model',
  NotRealtimeModel: 'not_realtime_model',
  UnsupportedVoice: 'unsupported_voice',
  UnsupportedModality: 'unsupported_modality',
  UnsupportedReasoningEffort: 'unsupported_reasoning_effort',
  UnsupportedTurnDetection: 'unsupported_turn_detection',
  InvalidIdempotencyKey: 'invalid_idempotency_key',
  /** A non-zero config field the model's provider declares it cannot honour (never silently dropped). */
  UnsupportedByProvider: 'unsupported_by_provider',
  // 401: who is asking
  MissingCredentials: 'missing_credentials',
  InvalidAuthorizationHeader: 'invalid_authorization_header',
  ManagementKeyNotAllowed: 'management_key_not_allowed',
  InvalidApiKey: 'invalid_api_key',
  NotRuntimeKey: 'not_runtime_key',
  KeyWithoutProject: 'key_without_project',
  // 403: the upgrade comes from a page the ticket (or the deployment) does not allow
  OriginNotAllowed: 'origin_not_allowed',
  // 404 / 409: backend control of tickets and live sessions (a ticket or session of another
  // project is "not found", so ids cannot be probed across projects)
  TicketNotFound: 'ticket_not_found',
  SessionNotFound: 'session_not_found',
  TicketAlreadyRedeemed: 'ticket_already_redeemed',
  IdempotencyKeyReused: 'idempotency_key_reused',
  // 429: too much, too fast (abuse limits)
  RateLimited: 'rate_limited',
  TooManyOutstandingTickets: 'too_many_outstanding_tickets',
  // 404 / 405 / 413 / 415: the route or the transport
  NotFound: 'not_found',
  MethodNotAllowed: 'method_not_allowed',
  PayloadTooLarge: 'payload_too_large',
  UnsupportedMediaType: 'unsupported_media_type',
  // 5xx: this deployment cannot serve the request right now (fail closed)
  TicketsDisabled: 'tickets_disabled',
  TicketStoreUnavailable: 'ticket_store_unavailable',
  AuthUnavailable: 'auth_unavailable',
  InternalError: 'internal_error',
  SessionStoreUnavailable: 'session_store_unavailable',
  /** 501: a custom ticket store that does not implement an optional operation (e.g. revocation). */
  NotSupported: 'not_supported',
  // WebSocket upgrade (HTTP 401 before any 101)
  InvalidTicket: 'invalid_ticket',
  KeyRevoked: 'key_revoked',
  // WebSocket session events (`error` is non-fatal, `session.terminating` ends the session)
  SessionNotStarted: 'session_not_started',
  SessionAlreadyStarted: 'session_already_started',
  SessionNotReady: 'session_not_ready',
  InvalidEvent: 'invalid_event',
  UnknownEvent: 'unknown_event',
  FieldLocked: 'field_locked',
  ModelRequired: 'model_required',
  ProviderNotConfigured: 'provider_not_configured',
  SessionLimitReached: 'session_limit_reached',
  FrameTooBig: 'frame_too_big',
  IdleTimeout: 'idle_timeout',
  MaxDurationReached: 'max_duration_reached',
  SlowConsumer: 'slow_consumer',
  ServerShutdown: 'server_shutdown',
  /** The instance is draining before shutdown: no new mints or upgrades (503). */
  ServerDraining: 'server_draining',
  TerminatedByBackend: 'terminated_by_backend',
  UpstreamUnavailable: 'upstream_unavailable',
  /** The resume token is unknown, spent, or its session is gone (HTTP 401 at the upgrade). */
  InvalidResumeToken: 'invalid_resume_token',
  /** More events waited for a resume than `limits.resumeBufferBytes`: the session ended. */
  ResumeBufferOverflow: 'resume_buffer_overflow',
  UpstreamClosed: 'upstream_closed',
  UpstreamError: 'upstream_error',
  SessionEnded: 'session_ended',
  // Provider events (non-fatal `error`)
  InputAudioBufferEmpty: 'input_audio_buffer_empty',
  InvalidAudio: 'invalid_audio',
  UnknownToolCall: 'unknown_tool_call',
  TranscriptionLocked: 'transcription_locked',
  InputTranscriptionFailed: 'input_transcription_failed',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The one error body shape of the API: `{"error":{"code","message","details?"}}`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}
