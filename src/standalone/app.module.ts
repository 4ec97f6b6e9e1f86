// The standalone server's root module: the realtime module configured from the environment.
import { Module, type DynamicModule } from '@nestjs/common';
import { RealtimeSessionsModule } from '../realtime-sessions.module.js';
import type { StandaloneConfig } from './env-config.js';
import { DemoModule } from './demo/demo.module.js';

@Module({})
export class StandaloneAppModule {
  static register(config: StandaloneConfig): DynamicModule {
    return { module: StandaloneAppModule, imports: [RealtimeSessionsModule.forRoot(config.options), ...(config.demo ? [DemoModule.register({ apiKey: config.options.apiKeys?.[0] })] : [])] };
  }
}
