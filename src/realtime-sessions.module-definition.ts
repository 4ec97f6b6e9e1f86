// ConfigurableModuleBuilder wiring: gives RealtimeSessionsModule its forRoot / forRootAsync.
// Extras are read when the module is defined (before any factory runs), so they can decide which
// routes exist: `isGlobal`, and `health` (the /health routes, issue 10).
import { ConfigurableModuleBuilder, type DynamicModule } from '@nestjs/common';
import { healthRoutes } from './health/health.module.js';
import type { RealtimeHealthOptions, RealtimeSessionsModuleOptions } from './realtime-sessions.options.js';

interface ModuleExtras {
  isGlobal?: boolean;
  health?: boolean | RealtimeHealthOptions;
}

/** Mounts GET <path>/live and <path>/ready in the module when `health` is on (default off). */
function withHealthRoutes(definition: DynamicModule, health: ModuleExtras['health']): DynamicModule {
  if (!health) return definition;
  const routes = healthRoutes(health === true ? {} : health);
  return {
    ...definition,
    imports: [...(definition.imports ?? []), ...routes.imports],
    controllers: [...(definition.controllers ?? []), ...routes.controllers],
    providers: [...(definition.providers ?? []), ...routes.providers],
  };
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: REALTIME_SESSIONS_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<RealtimeSessionsModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras<ModuleExtras>({ isGlobal: false, health: undefined }, (definition, extras) =>
    withHealthRoutes({ ...definition, global: extras.isGlobal }, extras.health),
  )
  .build();
