// Builds the standalone server's Nest app from its configuration, without listening: `main.ts`
// listens on the configured port, tests call `listen(0)`.
import 'reflect-metadata';
import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { StandaloneAppModule } from './app.module.js';
import type { StandaloneConfig } from './env-config.js';

export function createStandaloneApp(config: StandaloneConfig, options: NestApplicationOptions = {}): Promise<INestApplication> {
  return NestFactory.create(StandaloneAppModule.register(config), { bufferLogs: false, ...options });
}
