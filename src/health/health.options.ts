// Options of the health feature, one place.
import type { DrainState } from './drain-state.js';
import type { ReadinessCheck } from './readiness-check.js';

export const HEALTH_OPTIONS = Symbol('REALTIME_HEALTH_OPTIONS');

export interface HealthModuleOptions {
  /** Base path of the two routes. Default `health` (GET /health/live, GET /health/ready). */
  path?: string;
  /** Timeout of a readiness check that sets none of its own (ms). Default 1000. */
  checkTimeoutMs?: number;
  /** Checks registered from the start (more can be registered through `ReadinessChecks`). */
  checks?: ReadinessCheck[];
  /** Share this drain state (e.g. one the module provides elsewhere); default: a new one. */
  drainState?: DrainState;
}

export interface ResolvedHealthOptions {
  path: string;
  checkTimeoutMs: number;
}

export const DEFAULT_HEALTH_PATH = 'health';
export const DEFAULT_CHECK_TIMEOUT_MS = 1000;
