// A host app with its own @WebSocketGateway on @nestjs/platform-ws, on the same HTTP server as the
// module. WsAdapter's upgrade listener destroys sockets of paths it does not serve; registered the
// documented way, RealtimeWsAdapter leaves /v3/realtime to the module. This is the test that fails
// loudly if Nest changes the protected WsAdapter hooks RealtimeWsAdapter relies on.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Test } from '@nestjs/testing';
import WebSocket from 'ws';
import { RealtimeSessionsModule, RealtimeWsAdapter } from '../../src/index.js';
import { PLATFORMS, type Platform } from '../helpers/http-app.js';
import { RUNTIME_KEY } from '../helpers/realtime-app.js';
import { closeAll, connect, mintTicket, type RealtimeTestClient } from '../helpers/ws-client.js';

@WebSocketGateway({ path: '/host/ws' })
class HostEchoGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown): { event: string; data: unknown } {
    return { event: 'echoed', data };
  }
}

@Module({
  imports: [RealtimeSessionsModule.forRoot({ apiKeys: [RUNTIME_KEY], loopback: true })],
  providers: [HostEchoGateway],
})
class HostWithGatewayModule {}

async function startHostApp(platform: Platform): Promise<{ app: INestApplication; baseUrl: string }> {
  const moduleRef = await Test.createTestingModule({ imports: [HostWithGatewayModule] }).compile();
  const app =
    platform === 'fastify'
      ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false })
      : moduleRef.createNestApplication(new ExpressAdapter(), { logger: false });
  app.useWebSocketAdapter(new RealtimeWsAdapter(app));
  if (platform === 'fastify') {
    await app.init();
    await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  }
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, baseUrl: `http://127.0.0.1:${port}` };
}

/** Opens a socket on `path`; resolves with the first message, or how the socket ended. */
function hostRoundTrip(baseUrl: string, path: string, message: unknown): Promise<{ message?: unknown; closed?: number; error?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + path);
    ws.once('open', () => ws.send(JSON.stringify(message)));
    ws.once('message', (data) => {
      resolve({ message: JSON.parse(data.toString()) });
      ws.close();
    });
    ws.once('error', (err) => resolve({ error: err.message }));
    ws.once('close', (code) => resolve({ closed: code }));
  });
}

describe.each(PLATFORMS)('host app with its own WebSocket gateway (%s)', (platform) => {
  let app: INestApplication;
  let baseUrl: string;
  const clients: RealtimeTestClient[] = [];

  beforeAll(async () => {
    ({ app, baseUrl } = await startHostApp(platform));
  });
  afterAll(async () => {
    await closeAll(clients);
    await app.close();
  });

  it("serves the host's gateway and /v3/realtime on the same server", async () => {
    expect(await hostRoundTrip(baseUrl, '/host/ws', { event: 'echo', data: 'hi' })).toEqual({ message: { event: 'echoed', data: 'hi' } });

    const client = connect(baseUrl, { ticket: await mintTicket(baseUrl) });
    clients.push(client);
    await client.opened();
    const started = await client.start({ model: 'loopback/echo' });
    expect(started.session_id).toMatch(/^sess_[0-9a-f]{32}$/);

    // Both at once, the host's socket still answers.
    expect(await hostRoundTrip(baseUrl, '/host/ws', { event: 'echo', data: 2 })).toEqual({ message: { event: 'echoed', data: 2 } });
  });

  it('still refuses a bad ticket with the HTTP 401 error body (the host adapter does not answer first)', async () => {
    const client = connect(baseUrl, { ticket: 'A'.repeat(43) });
    clients.push(client);
    const outcome = await client.outcome;
    expect(outcome).toMatchObject({ kind: 'rejected', status: 401, json: { error: { code: 'invalid_ticket' } } });
  });

  it('paths neither serves are still cut by the host adapter', async () => {
    const result = await hostRoundTrip(baseUrl, '/nobody/here', { event: 'echo', data: 1 });
    expect(result.message).toBeUndefined();
  });
});
