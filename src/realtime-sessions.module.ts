// RealtimeSessionsModule: import it with forRoot(options) or forRootAsync({imports, inject, useFactory}).
import { Module, type MiddlewareConsumer, type NestModule, type Provider } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ApiKeyAuthenticator } from './auth/api-key.authenticator.js';
import { ApiKeyGuard } from './auth/api-key.guard.js';
import { ApiKeyVerifier } from './auth/api-key-verifier.js';
import { StaticApiKeyVerifier } from './auth/static-api-key.verifier.js';
import { RealtimeErrorFilter } from './errors/realtime-error.filter.js';
import { EmptyJsonBodyMiddleware } from './http/empty-body.middleware.js';
import { RealtimeSessionsController } from './issuance/realtime-sessions.controller.js';
import { RESOLVED_OPTIONS } from './realtime-sessions.constants.js';
import { ConfigurableModuleClass, REALTIME_SESSIONS_MODULE_OPTIONS } from './realtime-sessions.module-definition.js';
import { REALTIME_SESSIONS_PATH, resolveOptions, type RealtimeSessionsModuleOptions } from './realtime-sessions.options.js';
import { ModelCatalogue } from './session-config/model-catalogue.js';
import { InMemoryTicketRepository } from './tickets/in-memory-ticket.repository.js';
import { TicketRepository } from './tickets/ticket.repository.js';
import { TicketService } from './tickets/ticket.service.js';

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
    provide: TicketRepository,
    inject: [REALTIME_SESSIONS_MODULE_OPTIONS],
    useFactory: (options: RealtimeSessionsModuleOptions) => options.ticketRepository ?? new InMemoryTicketRepository(),
  },
  {
    provide: ModelCatalogue,
    inject: [REALTIME_SESSIONS_MODULE_OPTIONS],
    useFactory: (options: RealtimeSessionsModuleOptions) => new ModelCatalogue(options.models ?? []),
  },
  ApiKeyAuthenticator,
  ApiKeyGuard,
  TicketService,
  { provide: APP_FILTER, useClass: RealtimeErrorFilter },
];

@Module({
  controllers: [RealtimeSessionsController],
  providers,
  exports: [ApiKeyVerifier, ApiKeyAuthenticator, TicketRepository, TicketService, ModelCatalogue],
})
export class RealtimeSessionsModule extends ConfigurableModuleClass implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(EmptyJsonBodyMiddleware).forRoutes(REALTIME_SESSIONS_PATH);
  }
}
