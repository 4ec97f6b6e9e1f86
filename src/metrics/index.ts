export { RealtimeMetrics, METRIC_NAMES, registerDefaultMetrics, type RealtimeMetricsOptions } from './realtime-metrics.js';
export { MetricsModule, type RealtimeMetricsConfig, type RealtimeMetricsModuleOptions, type MetricsLabelBounds } from './metrics.module.js';
export { createMetricsController, DEFAULT_METRICS_PATH } from './metrics.controller.js';
export { OTHER, REDEMPTION_OUTCOMES, type RedemptionOutcome, type RelayDirection, type SlowConsumerSide } from './metric-labels.js';
