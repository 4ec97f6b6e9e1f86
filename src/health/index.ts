export { HealthModule, healthRoutes } from './health.module.js';
export { DrainState, type DrainListener } from './drain-state.js';
export { ReadinessChecks, pingCheck, type ReadinessCheck, type Pingable } from './readiness-check.js';
export { DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_HEALTH_PATH, type HealthModuleOptions } from './health.options.js';
export { createHealthController } from './health.controller.js';
export { installGracefulDrain, waitForSessions, type GracefulDrainOptions, type GracefulDrainHandle } from './graceful-drain.js';
