// The health feature as a dynamic module: terminus, the two routes, the readiness checks registry
// and the drain state (both exported, for the gateway and the ticket service to use).
import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DrainState } from './drain-state.js';
import { createHealthController } from './health.controller.js';
import { DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_HEALTH_PATH, HEALTH_OPTIONS, type HealthModuleOptions, type ResolvedHealthOptions } from './health.options.js';
import { ReadinessChecks } from './readiness-check.js';

/**
 * The routes alone (terminus, the controller, its options), for a module that provides
 * `DrainState` and `ReadinessChecks` itself: RealtimeSessionsModule mounts them with `health: true`.
 */
export function healthRoutes(options: Pick<HealthModuleOptions, 'path' | 'checkTimeoutMs'> = {}): Required<Pick<DynamicModule, 'imports' | 'controllers' | 'providers'>> {
  const resolved: ResolvedHealthOptions = {
    path: (options.path ?? DEFAULT_HEALTH_PATH).replace(/^\/+|\/+$/g, ''),
    checkTimeoutMs: options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS,
  };
  if (!Number.isInteger(resolved.checkTimeoutMs) || resolved.checkTimeoutMs <= 0) {
    throw new Error('HealthModule: checkTimeoutMs must be a positive integer (ms)');
  }
  return {
    // Failing probes are answered in the body; terminus logging each one would flood the logs
    // for as long as Redis is down.
    imports: [TerminusModule.forRoot({ logger: false })],
    controllers: [createHealthController(resolved.path)],
    providers: [{ provide: HEALTH_OPTIONS, useValue: resolved }],
  };
}

@Module({})
export class HealthModule {
  static register(options: HealthModuleOptions = {}): DynamicModule {
    const routes = healthRoutes(options);
    return {
      module: HealthModule,
      ...routes,
      providers: [
        ...routes.providers,
        options.drainState ? { provide: DrainState, useValue: options.drainState } : DrainState,
        {
          provide: ReadinessChecks,
          useFactory: () => {
            const checks = new ReadinessChecks();
            for (const check of options.checks ?? []) checks.register(check);
            return checks;
          },
        },
      ],
      exports: [DrainState, ReadinessChecks],
    };
  }
}
