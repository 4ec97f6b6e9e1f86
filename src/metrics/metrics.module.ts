// The metrics feature as a dynamic module. RealtimeSessionsModule imports it always: it provides
// `RealtimeMetrics` to every call site (a no-op instance when metrics are off) and, when metrics
// are on, the GET /metrics route.
import { Module, type DynamicModule } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { createMetricsController, DEFAULT_METRICS_PATH } from './metrics.controller.js';
import { RealtimeMetrics } from './realtime-metrics.js';

export interface RealtimeMetricsConfig {
  /** Register into the host's registry (its GET /metrics then shows the gateway's metrics too). Default: a registry of the module's own. */
  registry?: Registry;
  /** Route of the exposition. Default `/metrics`; `false`: no route (the host serves its registry itself). */
  path?: string | false;
  /** Collect prom-client's default process metrics into the registry (at most once per registry). Default true. */
  defaultMetrics?: boolean;
}

/** The `metrics` module option: off by default in the module (opt-in), on by default in the standalone server. */
export type RealtimeMetricsModuleOptions = boolean | RealtimeMetricsConfig;

export interface MetricsLabelBounds {
  /** Model ids allowed as label values (the catalogue's realtime models). */
  models?: readonly string[];
  /** Provider names allowed as label values (the configured plugins). */
  providers?: readonly string[];
}

@Module({})
export class MetricsModule {
  static register(options: RealtimeMetricsModuleOptions | undefined, bounds: MetricsLabelBounds = {}): DynamicModule {
    const config: RealtimeMetricsConfig | undefined = options === true ? {} : options || undefined;
    const path = config?.path === undefined ? DEFAULT_METRICS_PATH : config.path;
    return {
      module: MetricsModule,
      providers: [
        {
          provide: RealtimeMetrics,
          // One instance per app: a factory, so two apps built from one options object do not share it.
          useFactory: () =>
            config
              ? new RealtimeMetrics({ registry: config.registry, defaultMetrics: config.defaultMetrics, models: bounds.models, providers: bounds.providers })
              : RealtimeMetrics.disabled(),
        },
      ],
      controllers: config && path !== false ? [createMetricsController(path)] : [],
      exports: [RealtimeMetrics],
    };
  }
}
