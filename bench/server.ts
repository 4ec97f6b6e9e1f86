// The gateway under test, in its own process: a Nest app (Express or Fastify) with
// RealtimeSessionsModule (in-memory or Redis tickets), plus the baselines the issue asks for, in the
// same app and adapter:
//   POST /bench/bare  the module's own bearer check (ApiKeyGuard), then a static body shaped like a
//                     mint response: everything minting does except validating, minting, storing;
//   GET  /bench/ws    a bare `noServer` ws server on the same HTTP server, upgraded with no
//                     authentication: the module's own upgrade path minus admission and session.
import 'reflect-metadata';
import { Controller, HttpCode, Module, Post, UseGuards, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { ApiKeyGuard, RealtimeSessionsModule, TicketRepository, TicketService, WarmUpstreams, type RealtimeSessionsModuleOptions } from '../src/index.js';
import { parseMintRequest } from '../src/issuance/mint-request.js';
import { RedisConnection } from '../src/redis/redis-connection.js';
import { InMemoryTicketRepository } from '../src/tickets/in-memory-ticket.repository.js';
import { BENCH_KEY, BENCH_PROJECT, BENCH_KEY_ID, MINT_BODY, MINT_BODY_LONG_TTL } from './lib/config.js';
import { childConfig, fullGc, processStats, sendReady, serveCommands } from './lib/ipc.js';

export interface ServerConfig {
  platform: 'express' | 'fastify';
  store: 'memory' | 'redis';
  redisUrl?: string;
  /** `http://127.0.0.1:<port>/v1` of the echo upstream, for `openai/…` models. */
  openaiBaseUrl?: string;
  /** The module's `warmUpstreams` option (the warm-pool scenario). */
  warmUpstreams?: RealtimeSessionsModuleOptions['warmUpstreams'];
}

const config = childConfig<ServerConfig>();

/** The same size and shape as a mint response. */
const STATIC_BODY = Object.freeze({
  client_secret: 'x'.repeat(43),
  expires_at: '2026-11-24T10:01:00Z',
  ws_url: `ws://127.0.0.1:1/v3/realtime?ticket=${'x'.repeat(43)}`,
});

@Controller()
class BareController {
  @Post('/bench/bare')
  @HttpCode(200)
  @UseGuards(ApiKeyGuard)
  bare(): object {
    return STATIC_BODY;
  }
}

/** The bare-upgrade baseline: the same kind of ws server and listener as the module's, no admission. */
function listenBareWs(app: INestApplication): void {
  const wss = new WebSocketServer({ noServer: true });
  app.getHttpServer().on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (req.url?.split('?')[0] === '/bench/ws') wss.handleUpgrade(req, socket, head, () => undefined);
  });
}

const moduleOptions: RealtimeSessionsModuleOptions = {
  apiKeys: [{ key: BENCH_KEY, projectId: BENCH_PROJECT, keyId: BENCH_KEY_ID }],
  // loopback/echo (the in-process model the relay and memory scenarios use) is off by default in the library.
  loopback: true,
  // The bench measures throughput from one key and one address: abuse limits out of its way.
  limits: { maxSessionsPerProject: 1_000_000, mintsPerKeyPerSecond: 10_000_000, upgradesPerIpPerSecond: 10_000_000, maxOutstandingTicketsPerProject: 100_000_000 },
  ...(config.store === 'redis' ? { redis: config.redisUrl! } : {}),
  ...(config.openaiBaseUrl ? { openai: { apiKey: 'sk-bench', baseUrl: config.openaiBaseUrl } } : {}),
  ...(config.warmUpstreams ? { warmUpstreams: config.warmUpstreams } : {}),
};

@Module({
  imports: [RealtimeSessionsModule.forRoot(moduleOptions)],
  controllers: [BareController],
})
class BenchAppModule {}

async function main(): Promise<void> {
  const app: INestApplication =
    config.platform === 'fastify'
      ? await NestFactory.create<NestFastifyApplication>(BenchAppModule, new FastifyAdapter(), { logger: ['error'] })
      : await NestFactory.create(BenchAppModule, new ExpressAdapter(), { logger: ['error'] });
  listenBareWs(app);
  if (config.platform === 'fastify') {
    await app.init();
    await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  }
  await app.listen(0, '127.0.0.1');

  serveCommands(
    {
      /** Sockets the warm pool handed out so far, and how many are parked now. */
      warmStats: () => {
        const pool = app.get(WarmUpstreams).pool;
        return { handedOut: pool?.handedOut ?? 0, parked: pool?.parkedCount() ?? 0 };
      },
      /** Mints `n` tickets through TicketService as the route does; memory before/after (full GC). */
      ticketMemory: async ({ n, batch = 500 }: { n: number; batch?: number }) => {
        const tickets = app.get(TicketService);
        const identity = { keyId: BENCH_KEY_ID, projectId: BENCH_PROJECT, kind: 'runtime' as const };
        const redis = config.store === 'redis' ? app.get(RedisConnection) : null;
        const redisUsed = async () => Number(/used_memory:(\d+)/.exec(String(await redis!.client.call('INFO', 'memory')))![1]);
        await fullGc();
        const before = processStats();
        const redisBefore = redis ? await redisUsed() : 0;
        for (let done = 0; done < n; ) {
          const count = Math.min(batch, n - done);
          const minted: Promise<unknown>[] = [];
          for (let i = 0; i < count; i++) minted.push(tickets.mint(identity, parseMintRequest(JSON.parse(MINT_BODY_LONG_TTL))));
          await Promise.all(minted);
          done += count;
        }
        await fullGc();
        const after = processStats();
        const redisAfter = redis ? await redisUsed() : 0;
        const repository = app.get(TicketRepository);
        const stored = repository instanceof InMemoryTicketRepository ? repository.size : undefined;
        return { n, before, after, redisBefore, redisAfter, stored };
      },
    },
    () => app.close(),
  );
  const address = app.getHttpServer().address() as { port: number };
  sendReady({ port: address.port, mintBody: MINT_BODY });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
