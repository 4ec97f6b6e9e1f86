// Builds a listening Nest app (Express or Fastify) from a module, for e2e tests over real HTTP.
import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';

export type Platform = 'express' | 'fastify';
export const PLATFORMS: readonly Platform[] = ['express', 'fastify'];

export interface HttpApp {
  app: INestApplication;
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  baseUrl: string;
  /** `127.0.0.1:<port>`: the Host header fetch sends. */
  host: string;
  close(): Promise<void>;
}

export interface HttpAppOptions {
  /** Adjust the testing module before it is compiled (e.g. `overrideProvider`). */
  configure?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
}

/** Compiles `metadata` (or a module class), creates the app on `platform`, and listens on a free port. */
export async function createHttpApp(
  platform: Platform,
  root: ModuleMetadata | NonNullable<ModuleMetadata['imports']>[number],
  options: HttpAppOptions = {},
): Promise<HttpApp> {
  const metadata: ModuleMetadata = isModuleMetadata(root) ? root : { imports: [root] };
  let builder = Test.createTestingModule(metadata);
  if (options.configure) builder = options.configure(builder);
  const moduleRef = await builder.compile();

  const app: INestApplication =
    platform === 'fastify'
      ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false })
      : moduleRef.createNestApplication(new ExpressAdapter(), { logger: false });
  try {
    if (platform === 'fastify') {
      await app.init();
      await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
    }
    await app.listen(0, '127.0.0.1');
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  const address = app.getHttpServer().address() as { port: number };
  const host = `127.0.0.1:${address.port}`;
  return { app, host, baseUrl: `http://${host}`, close: () => app.close() };
}

function isModuleMetadata(value: unknown): value is ModuleMetadata {
  return typeof value === 'object' && value !== null && !('module' in value) && ('imports' in value || 'providers' in value || 'controllers' in value);
}

/** Awaits a started app, runs `fn` against it, and always closes it. */
export async function withHttpApp<T>(starting: Promise<HttpApp>, fn: (app: HttpApp) => Promise<T>): Promise<T> {
  const app = await starting;
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}
