// The standalone server's logger: nestjs-pino over pino-http, JSON lines (pretty only when asked),
// with redaction and a request id. The library module never installs a logger: it logs through
// Nest's Logger, so a host that uses nestjs-pino gets the module's lines through its own logger.
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestMethod, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream, LevelWithSilent } from 'pino';
import type { Options as PinoHttpOptions } from 'pino-http';
import { REDACT_PATHS, REDACTED, redactLogArguments, redactRequest } from './redaction.js';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.js';

export type LogFormat = 'json' | 'pretty';
export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface PinoLoggerOptions {
  /** Default `info`. */
  level?: LevelWithSilent;
  /** `json` (default): one JSON object per line. `pretty`: pino-pretty, for a developer's terminal. */
  format?: LogFormat;
  /** Where lines go (default stdout). Tests pass a stream to capture them. Ignored with `pretty`. */
  destination?: DestinationStream;
  /** Paths whose successful requests are not logged (probes and scrapes). Default /health/*, /metrics. */
  quietPaths?: readonly string[];
}

export const DEFAULT_QUIET_PATHS: readonly string[] = ['/health/live', '/health/ready', '/metrics'];

/** pino-http options: redaction, the request id (echoed as `x-request-id`), level, quiet probes. */
export function pinoHttpOptions(options: PinoLoggerOptions = {}): PinoHttpOptions {
  const quiet = new Set(options.quietPaths ?? DEFAULT_QUIET_PATHS);
  return {
    level: options.level ?? 'info',
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    hooks: { logMethod: redactLogArguments },
    serializers: { req: redactRequest },
    // Express: pino-http assigns the id. Fastify assigns its own before any middleware runs:
    // give the adapter `fastifyRequestIdOptions()` for the same ids.
    genReqId: (req: IncomingMessage) => requestIdOf(req.headers),
    // Called once per request, before the handler: echo the id so a caller can quote it.
    customProps: (req: IncomingMessage & { id?: unknown }, res: ServerResponse) => {
      if (!res.headersSent && req.id !== undefined && !res.hasHeader(REQUEST_ID_HEADER)) res.setHeader(REQUEST_ID_HEADER, String(req.id));
      return {};
    },
    autoLogging: {
      ignore: (req: IncomingMessage) => quiet.has((req.url ?? '').split('?', 1)[0]),
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    ...(options.format === 'pretty' ? { transport: prettyTransport() } : {}),
  };
}

/** `LoggerModule.forRoot` for the standalone server (import it in the root module; then `app.useLogger(app.get(Logger))`). */
export function createPinoLoggerModule(options: PinoLoggerOptions = {}): DynamicModule {
  const http = pinoHttpOptions(options);
  return LoggerModule.forRoot({
    // nestjs-pino's default route pattern (`{/*splat}`) does not reach Fastify routes under Nest 12;
    // this one covers every route on both platforms (test/logging checks both).
    forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
    pinoHttp: options.destination && options.format !== 'pretty' ? [http, options.destination] : http,
  });
}

function prettyTransport(): { target: string; options: Record<string, unknown> } {
  const require = createRequire(import.meta.url);
  try {
    require.resolve('pino-pretty');
  } catch {
    throw new Error('LOG_FORMAT=pretty needs the pino-pretty package: npm install pino-pretty (or use LOG_FORMAT=json)');
  }
  return { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } };
}
