// ConfigurableModuleBuilder wiring: gives RealtimeSessionsModule its forRoot / forRootAsync.
import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { RealtimeSessionsModuleOptions } from './realtime-sessions.options.js';

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: REALTIME_SESSIONS_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<RealtimeSessionsModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
