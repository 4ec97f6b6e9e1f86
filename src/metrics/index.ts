export { RealtimeMetrics, METRIC_NAMES, registerDefaultMetrics, type RealtimeMetricsOptions } from './realtime-metrics.js';
export {
  MetricsModule,
  createRealtimeMetrics,
  metricsPathOf,
  metricsProviders,
  type MetricsSetup,
  type RealtimeMetricsConfig,
  type RealtimeMetricsModuleOptions,
  type MetricsLabelBounds,
} from './metrics.module.js';
export { MetricsRoute, DEFAULT_METRICS_PATH } from './metrics.route.js';
export { OTHER, REDEMPTION_OUTCOMES, type RedemptionOutcome, type RelayDirection, type SlowConsumerSide } from './metric-labels.js';
