// The metrics feature. RealtimeSessionsModule provides `RealtimeMetrics` to every call site (a
// no-op instance when metrics are off) and, when they are on, serves GET /metrics: it builds both
// with `metricsProviders`, whose factory reads the options and the label bounds through DI (with
// `forRootAsync` neither is known when the module is defined). `MetricsModule.register` is the same
// pair as a module of its own, for an app that wants the metrics without the gateway.
import { Module, type DynamicModule, type FactoryProvider, type InjectionToken, type OptionalFactoryDependency } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Registry } from 'prom-client';
import { DEFAULT_METRICS_PATH, MetricsRoute } from './metrics.route.js';
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

/** What the factory of `metricsProviders` resolves: the option and the label bounds. */
export interface MetricsSetup {
  options: RealtimeMetricsModuleOptions | undefined;
  bounds?: MetricsLabelBounds;
}

/** A RealtimeMetrics for the option: recording when on, a no-op when off or absent. */
export function createRealtimeMetrics(options: RealtimeMetricsModuleOptions | undefined, bounds: MetricsLabelBounds = {}): RealtimeMetrics {
  const config = configOf(options);
  return config
    ? new RealtimeMetrics({ registry: config.registry, defaultMetrics: config.defaultMetrics, models: bounds.models, providers: bounds.providers })
    : RealtimeMetrics.disabled();
}

/** The route the option asks for; undefined when metrics are off or `path: false`. */
export function metricsPathOf(options: RealtimeMetricsModuleOptions | undefined): string | undefined {
  const config = configOf(options);
  if (!config || config.path === false) return undefined;
  return config.path ?? DEFAULT_METRICS_PATH;
}

function configOf(options: RealtimeMetricsModuleOptions | undefined): RealtimeMetricsConfig | undefined {
  if (options === true) return {};
  return options || undefined;
}

const METRICS_SETUP = Symbol('REALTIME_METRICS_SETUP');

/**
 * The providers of the feature: `RealtimeMetrics` (one instance per app: two apps built from one
 * options object do not share it) and the GET route, both from `useFactory(...inject)`.
 */
export function metricsProviders(setup: {
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  useFactory: (...args: any[]) => MetricsSetup;
}): FactoryProvider[] {
  return [
    { provide: METRICS_SETUP, inject: setup.inject ?? [], useFactory: setup.useFactory },
    { provide: RealtimeMetrics, inject: [METRICS_SETUP], useFactory: (s: MetricsSetup) => createRealtimeMetrics(s.options, s.bounds) },
    {
      provide: MetricsRoute,
      inject: [RealtimeMetrics, HttpAdapterHost, METRICS_SETUP],
      useFactory: (metrics: RealtimeMetrics, adapterHost: HttpAdapterHost, s: MetricsSetup) => new MetricsRoute(metrics, adapterHost, metricsPathOf(s.options)),
    },
  ];
}

@Module({})
export class MetricsModule {
  /** The metrics on their own (options known up front). */
  static register(options: RealtimeMetricsModuleOptions | undefined, bounds: MetricsLabelBounds = {}): DynamicModule {
    return {
      module: MetricsModule,
      providers: metricsProviders({ useFactory: () => ({ options, bounds }) }),
      exports: [RealtimeMetrics],
    };
  }
}
