export { createPinoLoggerModule, pinoHttpOptions, DEFAULT_QUIET_PATHS, LOG_LEVELS, type LogFormat, type PinoLoggerOptions } from './pino-logger.module.js';
export { REDACTED, REDACT_PATHS, SECRET_HEADERS, SECRET_KEYS, redactSecrets, redactUrl, redactRequest, redactLogArguments } from './redaction.js';
export { REQUEST_ID_HEADER, requestIdOf, fastifyRequestIdOptions } from './request-id.js';
export { RealtimeLog, REALTIME_LOG_CONTEXT, mintRecord, redemptionRecord, sessionEndRecord, type MintLogFields, type RedemptionLogFields, type SessionEndLogFields } from './realtime-log.js';
