// Environment → operability settings of the standalone server (logs, metrics, drain). Bad values
// stop the server at start with a message naming the variable, like env-config.ts.
import type { LevelWithSilent } from 'pino';
import { LOG_LEVELS, type LogFormat } from '../logging/pino-logger.module.js';
import { EnvConfigError, parseBoolean, parseInteger } from './env-config.js';

export interface OpsConfig {
  /** `LOG_LEVEL`: fatal, error, warn, info (default), debug, trace or silent. */
  logLevel: LevelWithSilent;
  /** `LOG_FORMAT`: json (default, one object per line) or pretty (needs pino-pretty). */
  logFormat: LogFormat;
  /** `METRICS_ENABLED`: serve GET /metrics (default true). */
  metricsEnabled: boolean;
  /** `REALTIME_DRAIN_SECONDS`: how long live sessions may continue after SIGTERM (default 30). */
  drainSeconds: number;
}

export const DEFAULT_DRAIN_SECONDS = 30;

export function parseLogLevel(value: string | undefined): LevelWithSilent {
  if (value === undefined || value.trim() === '') return 'info';
  const level = value.trim().toLowerCase() as LevelWithSilent;
  if (!LOG_LEVELS.includes(level)) throw new EnvConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`);
  return level;
}

export function parseLogFormat(value: string | undefined): LogFormat {
  if (value === undefined || value.trim() === '') return 'json';
  const format = value.trim().toLowerCase();
  if (format !== 'json' && format !== 'pretty') throw new EnvConfigError(`LOG_FORMAT must be json or pretty, got "${value}"`);
  return format;
}

export function loadOpsConfig(env: NodeJS.ProcessEnv = process.env): OpsConfig {
  return {
    logLevel: parseLogLevel(env.LOG_LEVEL),
    logFormat: parseLogFormat(env.LOG_FORMAT),
    metricsEnabled: parseBoolean('METRICS_ENABLED', env.METRICS_ENABLED, true),
    drainSeconds: parseInteger('REALTIME_DRAIN_SECONDS', env.REALTIME_DRAIN_SECONDS, DEFAULT_DRAIN_SECONDS, 0, 3600),
  };
}
