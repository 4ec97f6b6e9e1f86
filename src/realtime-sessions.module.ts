// RealtimeSessionsModule: import it with forRoot(options) or forRootAsync({imports, inject, useFactory}).
import { Module, type MiddlewareConsumer, type NestModule, type Provider } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ApiKeyAuthenticator } from './auth/api-key.authenticator.js';
import { ApiKeyGuard } from './auth/api-key.guard.js';
import { ApiKeyVerifier } from './auth/api-key-verifier.js';
import { RateLimits } from './auth/rate-limits.js';
import { StaticApiKeyVerifier } from './auth/static-api-key.verifier.js';
import { RealtimeErrorFilter } from './errors/realtime-error.filter.js';
import { RealtimeEndpoint } from './gateway/realtime-endpoint.js';
import { SESSION_CLOCK, systemClock } from './gateway/session-clock.js';
import type { Clock } from './common/clock.js';
import { SessionRegistry } from './gateway/session-registry.js';
import { TicketAdmission } from './gateway/ticket-admission.js';
import { NoopSessionEventsHook, SessionEventsHook } from './gateway/session-events.js';
import { RedisSessionLimiter } from './gateway/redis-session-limiter.js';
import { InMemorySessionLimiter, SessionLimiter } from './gateway/session-limiter.js';
import { DrainState } from './health/drain-state.js';
import { pingCheck, ReadinessChecks } from './health/readiness-check.js';
import { EmptyJsonBodyMiddleware } from './http/empty-body.middleware.js';
import { ProviderRegistry } from './providers/provider-registry.js';
import { WarmUpstreams } from './providers/warm-upstreams.js';
import { RealtimeSessionsController } from './issuance/realtime-sessions.controller.js';
import { LiveSessionsController } from './issuance/live-sessions.controller.js';
import { InMemoryLiveSessionDirectory, LiveSessionDirectory } from './live-sessions/live-session-directory.js';
import { RedisLiveSessionDirectory } from './live-sessions/redis-live-session-directory.js';
import { RESOLVED_OPTIONS, type ResolvedRealtimeSessionsOptions } from './common/module-settings.js';
import { ConfigurableModuleClass, REALTIME_SESSIONS_MODULE_OPTIONS } from './realtime-sessions.module-definition.js';
import {
  REALTIME_SESSIONS_PATH,
  resolveOptions,
  type RealtimeSessionsModuleOptions,
} from './realtime-sessions.options.js';
import { RedisConnection } from './redis/redis-connection.js';
import { ModelCatalogue } from './session-config/model-catalogue.js';
import { InMemoryTicketRepository } from './tickets/in-memory-ticket.repository.js';
import { RedisTicketRepository } from './tickets/redis-ticket.repository.js';
import { TicketRepository } from './tickets/ticket.repository.js';
import { TicketService } from './tickets/ticket.service.js';
// Metrics and log lines (issue 10).
import { RenderedErrorListener } from './errors/realtime-error.filter.js';
import { MintObserver } from './issuance/mint-observer.js';
import { metricsProviders, type MetricsSetup } from './metrics/metrics.module.js';
import { RealtimeMetrics } from './metrics/realtime-metrics.js';

const providers: Provider[] = [
  {
    provide: RESOLVED_OPTIONS,
    inject: [REALTIME_SESSIONS_MODULE_OPTIONS],
    useFactory: (options: RealtimeSessionsModuleOptions) => resolveOptions(options),
  },
  {
    provide: ApiKeyVerifier,
    inject: [REALTIME_SESSIONS_MODULE_OPTIONS],
    useFactory: (options: RealtimeSessionsModuleOptions) =>
      options.apiKeyVerifier ?? new StaticApiKeyVerifier(options.apiKeys ?? []),
  },
  {
    // Opened (and ioredis imported) only when something will use it; null otherwise.
    provide: RedisConnection,
    inject: [REALTIME_SESSIONS_MODULE_OPTIONS],
    useFactory: (options: RealtimeSessionsModuleOptions) =>
      options.redis && !(options.ticketRepository && options.sessionLimiter && options.liveSessionDirectory)
        ? RedisConnection.open(options.redis)
        : null,
  },
  {
    provide: TicketRepository,
    inject: [REALTIME_SESSIONS_MODULE_OPTIONS, RedisConnection, RealtimeMetrics],
    useFactory: (options: RealtimeSessionsModuleOptions, redis: RedisConnection | null, metrics: RealtimeMetrics) => {
      const onExpiredUnredeemed = (count: number) => metrics.ticketExpiredUnredeemed(count);
      return (
        options.ticketRepository ??
        (redis
          ? new RedisTicketRepository(redis.client, { keyPrefix: redis.options.keyPrefix, commandTimeoutMs: redis.options.commandTimeoutMs, onExpiredUnredeemed })
          : new InMemoryTicketRepository({ onExpiredUnredeemed }))
      );
    },
  },
  { provide: ModelCatalogue, inject: [ProviderRegistry], useFactory: (registry: ProviderRegistry) => new ModelCatalogue(registry.models()) },
  { provide: ProviderRegistry, inject: [REALTIME_SESSIONS_MODULE_OPTIONS], useFactory: ProviderRegistry.fromOptions },
  {
    // Warm upstreams (issue 14): a pool of pre-connected provider sockets, when the option is on.
    provide: WarmUpstreams,
    inject: [REALTIME_SESSIONS_MODULE_OPTIONS, RESOLVED_OPTIONS, ProviderRegistry, SESSION_CLOCK, RealtimeMetrics],
    useFactory: (options: RealtimeSessionsModuleOptions, resolved: ResolvedRealtimeSessionsOptions, registry: ProviderRegistry, clock: Clock, metrics: RealtimeMetrics) => {
      const warm = new WarmUpstreams(registry, options.warmUpstreams, clock, resolved.limits.rotationMarginSeconds, { onTake: (hit) => metrics.warmUpstreamTake(hit) });
      const pool = warm.pool;
      if (pool) warm.onShutdown(metrics.watchWarmUpstreams(() => pool.parkedCount()));
      return warm;
    },
  },
  {
    provide: SessionEventsHook,
    inject: [REALTIME_SESSIONS_MODULE_OPTIONS],
    useFactory: (options: RealtimeSessionsModuleOptions) => options.sessionEvents ?? new NoopSessionEventsHook(),
  },
  {
    provide: SessionLimiter,
    inject: [REALTIME_SESSIONS_MODULE_OPTIONS, RedisConnection],
    useFactory: (options: RealtimeSessionsModuleOptions, redis: RedisConnection | null) =>
      options.sessionLimiter ??
      (redis
        ? new RedisSessionLimiter(redis.client, {
            keyPrefix: redis.options.keyPrefix,
            leaseTtlMs: redis.options.sessionLeaseTtlMs,
            commandTimeoutMs: redis.options.commandTimeoutMs,
          })
        : new InMemorySessionLimiter()),
  },
  {
    provide: LiveSessionDirectory,
    inject: [REALTIME_SESSIONS_MODULE_OPTIONS, RedisConnection],
    useFactory: (options: RealtimeSessionsModuleOptions, redis: RedisConnection | null) =>
      options.liveSessionDirectory ??
      (redis
        ? new RedisLiveSessionDirectory(redis.client, { keyPrefix: redis.options.keyPrefix, leaseTtlMs: redis.options.sessionLeaseTtlMs })
        : new InMemoryLiveSessionDirectory()),
  },
  {
    provide: SESSION_CLOCK,
    inject: [REALTIME_SESSIONS_MODULE_OPTIONS],
    useFactory: (options: RealtimeSessionsModuleOptions) => options.clock ?? systemClock,
  },
  {
    // Counters in this instance's memory; on the module's Redis connection (one budget for every
    // instance, one more round trip per mint and upgrade) only with `redis.sharedRateLimits`.
    provide: RateLimits,
    inject: [REALTIME_SESSIONS_MODULE_OPTIONS, RESOLVED_OPTIONS, RedisConnection],
    useFactory: (options: RealtimeSessionsModuleOptions, resolved: ResolvedRealtimeSessionsOptions, redis: RedisConnection | null) =>
      new RateLimits(
        resolved.limits,
        redis?.options.sharedRateLimits ? { kind: 'redis', client: redis.client, keyPrefix: redis.options.keyPrefix } : { kind: 'memory' },
        options.clientIp,
      ),
  },
  // Health and drain (issue 10): one drain state per module instance (mints, upgrades, readiness
  // and the session registry all watch it); readiness asks the two stores a request depends on.
  DrainState,
  {
    provide: ReadinessChecks,
    inject: [TicketRepository, SessionLimiter],
    useFactory: (tickets: TicketRepository, limiter: SessionLimiter) => {
      const checks = new ReadinessChecks();
      checks.register(pingCheck('ticket_store', tickets));
      checks.register(pingCheck('session_limiter', limiter));
      return checks;
    },
  },
  ApiKeyAuthenticator,
  ApiKeyGuard,
  TicketService,
  TicketAdmission,
  SessionRegistry,
  RealtimeEndpoint,
  { provide: APP_FILTER, useClass: RealtimeErrorFilter },
  // Metrics: a no-op RealtimeMetrics when the option is off. The label bounds (realtime model ids,
  // configured provider names) are read once the catalogue exists, since forRootAsync options are
  // only known at runtime.
  ...metricsProviders({
    inject: [REALTIME_SESSIONS_MODULE_OPTIONS, ModelCatalogue, ProviderRegistry],
    useFactory: (options: RealtimeSessionsModuleOptions, catalogue: ModelCatalogue, registry: ProviderRegistry): MetricsSetup => ({
      options: options.metrics,
      bounds: { models: catalogue.list().filter((m) => m.realtime).map((m) => m.id), providers: registry.names() },
    }),
  }),
  MintObserver,
  { provide: RenderedErrorListener, useExisting: MintObserver },
];

@Module({
  controllers: [RealtimeSessionsController, LiveSessionsController],
  providers,
  exports: [
    ApiKeyVerifier,
    ApiKeyAuthenticator,
    TicketRepository,
    TicketService,
    ModelCatalogue,
    ProviderRegistry,
    SessionEventsHook,
    SessionLimiter,
    LiveSessionDirectory,
    TicketAdmission,
    SessionRegistry,
    RealtimeEndpoint,
    DrainState,
    ReadinessChecks,
    RealtimeMetrics,
  ],
})
export class RealtimeSessionsModule extends ConfigurableModuleClass implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(EmptyJsonBodyMiddleware).forRoutes(REALTIME_SESSIONS_PATH);
  }
}
