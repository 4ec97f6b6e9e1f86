// The standalone server's root module: the realtime module configured from the environment, and
// (when the operability settings are given, as `main.ts` does) the JSON logger.
import { Module, type DynamicModule } from '@nestjs/common';
import { createPinoLoggerModule } from '../logging/pino-logger.module.js';
import { RealtimeSessionsModule } from '../realtime-sessions.module.js';
import type { StandaloneConfig } from './env-config.js';
import { DemoModule } from './demo/demo.module.js';
import type { OpsConfig } from './ops-env.js';

@Module({})
export class StandaloneAppModule {
  static register(config: StandaloneConfig, ops?: OpsConfig): DynamicModule {
    return {
      module: StandaloneAppModule,
      imports: [
        ...(ops ? [createPinoLoggerModule({ level: ops.logLevel, format: ops.logFormat })] : []),
        RealtimeSessionsModule.forRoot({
          ...config.options,
          // Operability (issue 10): health on; drain as REALTIME_DRAIN_SECONDS says; metrics as METRICS_ENABLED says.
          health: true,
          ...(ops ? { drainTimeoutMs: ops.drainSeconds * 1000, metrics: ops.metricsEnabled } : {}),
        }),
        ...(config.demo ? [DemoModule.register({ apiKey: config.options.apiKeys?.[0] })] : []),
      ],
    };
  }
}
