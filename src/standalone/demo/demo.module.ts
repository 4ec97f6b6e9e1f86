// The demo page and its stand-in backend routes, imported by the standalone app when
// REALTIME_DEMO is on (the default). Needs RealtimeSessionsModule beside it in the app.
import { Module, type DynamicModule } from '@nestjs/common';
import { DEMO_OPTIONS, DemoController, type DemoOptions } from './demo.controller.js';

@Module({})
export class DemoModule {
  static register(options: DemoOptions): DynamicModule {
    return {
      module: DemoModule,
      controllers: [DemoController],
      providers: [{ provide: DEMO_OPTIONS, useValue: options }],
    };
  }
}
