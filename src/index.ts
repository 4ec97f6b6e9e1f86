// Public API of nestjs-realtime-sessions.
export { RealtimeSessionsModule } from './realtime-sessions.module.js';
export { REALTIME_SESSIONS_MODULE_OPTIONS } from './realtime-sessions.module-definition.js';
export {
  DEFAULT_TICKET_TTL_SECONDS,
  MAX_TICKET_TTL_SECONDS,
  MIN_TICKET_TTL_SECONDS,
  REALTIME_SESSIONS_PATH,
  REALTIME_SOCKET_PATH,
  DEFAULT_LIMITS,
  type SessionLimits,
  type RealtimeSessionsModuleOptions,
} from './realtime-sessions.options.js';
// Health and drain (issue 10).
export { DEFAULT_DRAIN_TIMEOUT_MS, type RealtimeHealthOptions } from './realtime-sessions.options.js';
export { DrainState, ReadinessChecks, pingCheck, installGracefulDrain, type ReadinessCheck, type Pingable, type GracefulDrainOptions, type GracefulDrainHandle } from './health/index.js';
export { drainRealtimeSessions, installRealtimeDrain, type RealtimeDrainOptions } from './realtime-drain.js';
// The OpenAPI description (the mint route carries it; this serves /docs and /docs-json).
export { describeRealtimeApi, buildRealtimeApiDocument, MINT_ERROR_CODES, type RealtimeApiDocsOptions } from './openapi/index.js';
export { ApiKeyVerifier, type ApiKeyIdentity, type ApiKeyKind } from './auth/api-key-verifier.js';
export { StaticApiKeyVerifier, type StaticApiKey } from './auth/static-api-key.verifier.js';
export { ApiKeyAuthenticator, type RuntimeIdentity } from './auth/api-key.authenticator.js';
export { ApiKeyGuard } from './auth/api-key.guard.js';
export {
  TicketRepository,
  OutstandingTicketLimitError,
  UnsupportedTicketOperation,
  ticketAllowsOrigin,
  type RevokeOutcome,
  type TicketSaveOptions,
} from './tickets/ticket.repository.js';
export { InMemoryTicketRepository, type InMemoryTicketRepositoryOptions } from './tickets/in-memory-ticket.repository.js';
export { RedisTicketRepository, type RedisTicketRepositoryOptions, type ConsumeStrategy } from './tickets/redis-ticket.repository.js';
export {
  DEFAULT_REDIS_KEY_PREFIX,
  type RealtimeRedisConfig,
  type RealtimeRedisOptions,
  type RedisClusterNode,
} from './redis/redis.options.js';
export type { RedisClient } from './redis/redis-client.js';
export type { TicketRecord } from './tickets/ticket.record.js';
export { TicketService, type MintedTicket } from './tickets/ticket.service.js';
export { generateTicketSecret, generatePublicTicketId, ticketIdOf } from './tickets/ticket-secret.js';
export {
  LiveSessionDirectory,
  InMemoryLiveSessionDirectory,
  type LiveSession,
  type TerminationHandler,
} from './live-sessions/live-session-directory.js';
export { RedisLiveSessionDirectory, type RedisLiveSessionDirectoryOptions } from './live-sessions/redis-live-session-directory.js';
export { canonicalOrigin } from './common/origin.js';
export { ModelCatalogue, providerOf, type ModelDefinition } from './session-config/model-catalogue.js';
export {
  SESSION_CONFIG_FIELDS,
  type SessionConfig,
  type SessionConfigField,
  type Modality,
  type ReasoningEffort,
  type ToolDefinition,
  type TurnDetection,
  type TurnDetectionType,
} from './session-config/session-config.js';
export { isZeroValue } from './session-config/zero-value.js';
export { ErrorCode, type ErrorBody } from './errors/error-codes.js';
export { RealtimeApiError } from './errors/realtime-api.error.js';
export { RealtimeErrorFilter } from './errors/realtime-error.filter.js';
export type { RealtimeSessionResponse } from './issuance/realtime-sessions.controller.js';
export type { LiveSessionResponse } from './issuance/live-sessions.controller.js';
export { RealtimeEndpoint } from './gateway/realtime-endpoint.js';
export { TicketAdmission, type Admission } from './gateway/ticket-admission.js';
export { SessionRegistry } from './gateway/session-registry.js';
export { MARKER_PROTOCOL, RESUME_PROTOCOL_PREFIX, TICKET_PROTOCOL_PREFIX } from './gateway/subprotocols.js';
export { RealtimeWsAdapter } from './gateway/realtime-ws.adapter.js';
export { type Clock, systemClock } from './common/clock.js';
export { CloseCode } from './errors/close-codes.js';
export { SessionEventsHook, NoopSessionEventsHook, type SessionStartedEvent, type SessionEndedEvent } from './gateway/session-events.js';
export { SessionLimiter, InMemorySessionLimiter } from './gateway/session-limiter.js';
export { RateLimits, socketPeerAddress, type ClientIpResolver, type RateLimitSettings, type RateLimitStore } from './auth/rate-limits.js';
export { RedisSessionLimiter, type RedisSessionLimiterOptions } from './gateway/redis-session-limiter.js';
export {
  RealtimeProvider,
  type ClientEvent,
  type ServerEvent,
  type UpstreamSession,
  type UpstreamHandlers,
  type UpstreamEnd,
  type OpenUpstreamParams,
} from './providers/realtime-provider.js';
export { ProviderRegistry } from './providers/provider-registry.js';
export {
  defineProvider,
  PluginProvider,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type ProviderPlugin,
  type ProviderAccess,
  type ProviderConnection,
  type ProviderCredentials,
} from './providers/provider-plugin.js';
export { resolveProviders, type ProviderOptions, type ProviderSettings } from './providers/provider-options.js';
export { BUILT_IN_PROVIDERS, BUILT_IN_MODELS, DEFAULT_BASE_URLS } from './providers/built-in-providers.js';
// The upstream core, for writing a provider of your own.
export { UpstreamSessionCore, type NonAudioClientEvent } from './providers/core/upstream-session.js';
export { WebSocketUpstreamSession } from './providers/core/websocket-upstream-session.js';
export { connectUpstream, type ConnectOptions } from './providers/core/connect.js';
export { UpstreamConnectError, endForClose, throwIfAbandoned } from './providers/core/upstream-errors.js';
export { toWebSocketBase } from './providers/core/upstream-socket.js';
export { UpstreamSocketPool, type UpstreamSocketSource, type UpstreamTarget, type WarmSocket, type EarlyMessage } from './providers/core/upstream-socket-pool.js';
export { WarmUpstreams, DEFAULT_WARM_IDLE_SECONDS, type WarmUpstreamsOptions } from './providers/warm-upstreams.js';
export { ToolCallTracker } from './providers/core/tool-calls.js';
export { pcmDurationMs, resampleBase64, resamplePcm16 } from './providers/core/pcm16.js';
export { upstreamModelName } from './providers/core/model-name.js';
export { loopbackProvider, LoopbackProvider } from './providers/loopback/index.js';
export { openaiProvider, OpenAiProvider } from './providers/openai/index.js';
export { xaiProvider, XaiProvider } from './providers/xai/index.js';
export { geminiProvider, GeminiProvider } from './providers/gemini/index.js';
// Metrics and log lines (issue 10).
export {
  RealtimeMetrics,
  MetricsModule,
  METRIC_NAMES,
  REDEMPTION_OUTCOMES,
  type RedemptionOutcome,
  type RealtimeMetricsModuleOptions,
  type RealtimeMetricsConfig,
} from './metrics/index.js';
export { RealtimeLog, type MintLogFields, type RedemptionLogFields, type SessionEndLogFields } from './logging/realtime-log.js';
export { requestIdOf } from './logging/request-id.js';
export { DEFAULT_REFUSAL_MEMORY_MS, type TicketRedemption, type TicketRefusal } from './tickets/ticket.repository.js';
