// Builds the standalone server's Nest app from its configuration, without listening: `main.ts`
// listens on the configured port, tests call `listen(0)`. With `ops` (as `main.ts` passes it) the
// app logs JSON lines through pino. The OpenAPI document is served at /docs and /docs-json.
import 'reflect-metadata';
import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { describeRealtimeApi } from '../openapi/describe-realtime-api.js';
import { StandaloneAppModule } from './app.module.js';
import type { StandaloneConfig } from './env-config.js';
import type { OpsConfig } from './ops-env.js';

export async function createStandaloneApp(config: StandaloneConfig, options: NestApplicationOptions = {}, ops?: OpsConfig): Promise<INestApplication> {
  // With pino, start-up lines are held until the logger is in place, then written through it.
  const app = await NestFactory.create(StandaloneAppModule.register(config, ops), { bufferLogs: ops !== undefined, ...options });
  if (ops) app.useLogger(app.get(Logger));
  describeRealtimeApi(app);
  return app;
}
