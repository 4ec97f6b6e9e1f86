// Upstream faults end to end (browser → gateway → provider over real sockets), each with its stated
// outcome (docs/protocol.md §6 session.terminating, close codes §3):
//   - TCP accepted, WebSocket handshake never answered → `upstream_unavailable`, close 1011, within
//     the provider's connectTimeoutMs (+ slack); the gateway closes the half-open upstream socket;
//   - handshake completed, session never confirmed (no `session.updated`) → the same, same bound;
//   - a frame that is not JSON mid-session → `upstream_error`, close 1011 (the session cannot trust
//     the stream any more); the upstream socket is closed;
//   - an event type the gateway does not know → ignored (lifecycle detail the normalized protocol
//     does not carry), the session keeps working;
//   - the provider closes mid-response (close frame 1011, or a TCP reset) → the deltas already
//     streamed reach the client, then `upstream_error`, close 1011;
//   - xAI's client-secret exchange answers 500 → `upstream_unavailable` naming HTTP 500, close 1011,
//     at once; it never answers → `upstream_unavailable`, close 1011, within connectTimeoutMs.
// On Express and Fastify; other sessions on the same gateway keep working throughout.
import { createServer, type Server, type Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OpenAiProvider } from '../../src/providers/openai/index.js';
import { XaiProvider } from '../../src/providers/xai/index.js';
import { startOpenAiFake, type OpenAiFake } from '../fakes/openai-fake.js';
import { XaiFake } from '../fakes/xai-fake.js';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { startRealtimeApp } from '../helpers/realtime-app.js';
import { SILENT_LOGGER } from '../helpers/redis-server.js';
import { connect, eventually, mintTicket, type RealtimeTestClient } from '../helpers/ws-client.js';

const CONNECT_TIMEOUT_MS = 600;
/** What the bound allows beyond connectTimeoutMs (scheduling on a loaded 2-core machine). */
const SLACK_MS = 1500;
const OPENAI_MODEL = 'openai/gpt-realtime-2';
const XAI_MODEL = 'xai/grok-voice-latest';

/** A TCP server that accepts connections and never says a word (no WebSocket handshake). */
class MuteServer {
  readonly sockets: Socket[] = [];
  private readonly server: Server = createServer((socket) => {
    this.sockets.push(socket);
    socket.on('error', () => undefined);
    // Read (and drop) the handshake, so the peer's FIN or RST is seen.
    socket.resume();
  });
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}/v1`;
  }
  get open(): number {
    return this.sockets.filter((s) => !s.destroyed).length;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The xAI fake with a client-secret endpoint that fails on demand. */
class FaultyXaiFake extends XaiFake {
  secrets: 'ok' | 'http500' | 'hang' = 'ok';
  readonly hanging: ServerResponse[] = [];
  protected override onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.secrets === 'http500') {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'Internal Server Error', error: 'upstream exploded' }));
      return;
    }
    if (this.secrets === 'hang') {
      this.hanging.push(res);
      return;
    }
    super.onRequest(req, res);
  }
}

describe.each(PLATFORMS)('upstream faults (%s)', (platform) => {
  let mute: MuteServer;
  let stalling: OpenAiFake;
  let fake: OpenAiFake;
  let xai: FaultyXaiFake;
  let apps: HttpApp[];
  /** Gateways by what is behind OpenAI: the mute TCP server, the stalling fake, the good fake. */
  let toMute: HttpApp;
  let toStalling: HttpApp;
  let toFake: HttpApp;

  beforeAll(async () => {
    mute = new MuteServer();
    const muteUrl = await mute.listen();
    stalling = await startOpenAiFake({ ignoreSessionUpdate: true });
    fake = await startOpenAiFake({ streamIntervalMs: 2 });
    xai = await new FaultyXaiFake({}).listen();
    const gateway = (openaiUrl: string) =>
      startRealtimeApp(platform, {
        providers: [
          new OpenAiProvider({ apiKey: 'sk-test', baseUrl: openaiUrl, connectTimeoutMs: CONNECT_TIMEOUT_MS }),
          new XaiProvider({ apiKey: 'xai-test', baseUrl: xai.httpUrl, connectTimeoutMs: CONNECT_TIMEOUT_MS }),
        ],
      });
    apps = [(toMute = await gateway(muteUrl)), (toStalling = await gateway(stalling.httpUrl)), (toFake = await gateway(fake.httpUrl))];
    for (const app of apps) app.app.useLogger(SILENT_LOGGER);
  });
  afterAll(async () => {
    for (const app of apps ?? []) await app.close();
    for (const res of xai?.hanging ?? []) res.destroy();
    await Promise.all([mute?.close(), stalling?.close(), fake?.close(), xai?.close()]);
  });

  async function open(app: HttpApp, model: string): Promise<RealtimeTestClient> {
    const ticket = await mintTicket(app.baseUrl, { config: { model } });
    const client = connect(app.baseUrl, { ticket });
    await client.opened();
    return client;
  }

  /** session.start, then the terminating event and the close; with the time it took. */
  async function startAndEnd(app: HttpApp, model: string) {
    const client = await open(app, model);
    const started = Date.now();
    client.send({ type: 'session.start', config: { model } });
    const terminating = await client.next('session.terminating', CONNECT_TIMEOUT_MS + SLACK_MS + 2000);
    const closed = await client.closed;
    return { terminating, closed, ms: Date.now() - started, client };
  }

  /** A well-behaved session on `app` works (the gateway as a whole is unaffected). */
  async function neighbourWorks(app: HttpApp): Promise<void> {
    const client = await open(app, 'loopback/echo');
    try {
      await client.start({ model: 'loopback/echo' });
      client.send({ type: 'text.input', text: 'still here' });
      client.send({ type: 'response.create' });
      await client.nextWhere((e) => e.type === 'text.delta' && e.delta === 'still here', 'the echo');
    } finally {
      await client.close();
    }
  }

  it('TCP accepted but no WebSocket handshake: upstream_unavailable, 1011, within connectTimeoutMs; the upstream socket is closed', async () => {
    const before = mute.sockets.length;
    const { terminating, closed, ms } = await startAndEnd(toMute, OPENAI_MODEL);
    expect(terminating).toMatchObject({ error: { code: 'upstream_unavailable' } });
    expect(closed.code).toBe(1011);
    expect(ms).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(CONNECT_TIMEOUT_MS + SLACK_MS);
    expect(mute.sockets.length).toBe(before + 1);
    await eventually(() => mute.open === 0, 'the gateway closed its half-open upstream socket');
    await neighbourWorks(toMute);
  });

  it('handshake done but the session never confirmed: upstream_unavailable, 1011, within connectTimeoutMs; the upstream closed', async () => {
    const index = stalling.connections.length;
    const { terminating, closed, ms } = await startAndEnd(toStalling, OPENAI_MODEL);
    expect(terminating).toMatchObject({ error: { code: 'upstream_unavailable', message: 'The upstream did not confirm the session in time' } });
    expect(closed.code).toBe(1011);
    expect(ms).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(CONNECT_TIMEOUT_MS + SLACK_MS);
    await stalling.connections[index].closed;
    await neighbourWorks(toStalling);
  });

  async function startOnFake(): Promise<{ client: RealtimeTestClient; conn: import('../fakes/openai-fake.js').FakeConnection }> {
    const index = fake.connections.length;
    const client = await open(toFake, OPENAI_MODEL);
    await client.start({ model: OPENAI_MODEL });
    return { client, conn: await fake.connection(index) };
  }

  it('a frame that is not JSON mid-session: upstream_error, 1011, the upstream socket closed', async () => {
    const { client, conn } = await startOnFake();
    conn.ws.send('{"type":"response.output_audio.delta","delta":');
    const terminating = await client.next('session.terminating');
    expect(terminating).toMatchObject({ error: { code: 'upstream_error' } });
    expect(String((terminating as unknown as { error: { message: string } }).error.message)).toMatch(/^Unreadable upstream message/);
    expect((await client.closed).code).toBe(1011);
    await conn.closed;
    await neighbourWorks(toFake);
  });

  it('JSON that is not an event (no string type) mid-session: upstream_error, 1011', async () => {
    const { client, conn } = await startOnFake();
    conn.ws.send('[1,2,3]');
    expect(await client.next('session.terminating')).toMatchObject({ error: { code: 'upstream_error' } });
    expect((await client.closed).code).toBe(1011);
    await conn.closed;
  });

  it('an unknown event type is ignored: nothing reaches the client, the session keeps working', async () => {
    const { client, conn } = await startOnFake();
    try {
      const before = client.events.length;
      conn.sendEvent({ type: 'response.brand_new_thing', event_id: conn.eventId(), payload: { x: 1 } });
      conn.sendEvent({ type: 'error', event_id: conn.eventId(), error: { type: 'server_error', code: 'marker', message: 'after the unknown event' } });
      await client.nextError('marker');
      expect(client.events.slice(before).map((e) => e.type)).toEqual(['error']);
      client.send({ type: 'text.input', text: 'hello' });
      client.send({ type: 'response.create' });
      await client.next('response.completed');
      expect(client.ws.readyState).toBe(client.ws.OPEN);
    } finally {
      await client.close();
    }
  });

  it.each([
    ['a close frame 1011', (c: import('../fakes/openai-fake.js').FakeConnection) => c.close(1011, 'boom')],
    ['a TCP reset', (c: import('../fakes/openai-fake.js').FakeConnection) => c.terminate()],
  ])('the provider ends mid-response with %s: the streamed deltas arrive, then upstream_error, 1011', async (_name, end) => {
    const { client, conn } = await startOnFake();
    conn.stallResponsesAfter(3);
    client.send({ type: 'text.input', text: 'say something long' });
    client.send({ type: 'response.create' });
    await eventually(() => conn.activeResponseStalled, 'the response is mid-stream');
    await eventually(() => client.ofType('audio.delta').length === 3, 'the three deltas reached the client');
    end(conn);
    const terminating = await client.next('session.terminating');
    expect(terminating).toMatchObject({ error: { code: 'upstream_error' } });
    expect((await client.closed).code).toBe(1011);
    expect(client.ofType('audio.delta')).toHaveLength(3);
    expect(client.ofType('response.completed')).toHaveLength(0);
    await neighbourWorks(toFake);
  });

  it('xAI client-secret exchange answers 500: upstream_unavailable naming HTTP 500, 1011, no socket opened', async () => {
    xai.secrets = 'http500';
    try {
      const sockets = xai.connections.length;
      const { terminating, closed, ms } = await startAndEnd(toFake, XAI_MODEL);
      expect(terminating).toMatchObject({ error: { code: 'upstream_unavailable', message: 'xAI refused the client secret request (HTTP 500): upstream exploded' } });
      expect(closed.code).toBe(1011);
      expect(ms).toBeLessThan(CONNECT_TIMEOUT_MS + SLACK_MS);
      expect(xai.connections.length).toBe(sockets);
    } finally {
      xai.secrets = 'ok';
    }
  });

  it('xAI client-secret exchange never answers: upstream_unavailable, 1011, within connectTimeoutMs; the request is abandoned', async () => {
    xai.secrets = 'hang';
    try {
      const hangingBefore = xai.hanging.length;
      const { terminating, closed, ms } = await startAndEnd(toFake, XAI_MODEL);
      expect(terminating).toMatchObject({ error: { code: 'upstream_unavailable', message: 'xAI did not issue a client secret in time' } });
      expect(closed.code).toBe(1011);
      expect(ms).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(CONNECT_TIMEOUT_MS + SLACK_MS);
      const request = xai.hanging[hangingBefore];
      // The gateway gave up on the request: its connection is closed by the client side.
      await eventually(() => request.req.destroyed || request.destroyed || request.writableEnded || request.socket === null || request.socket.destroyed, 'the abandoned request is closed');
    } finally {
      xai.secrets = 'ok';
    }
    await neighbourWorks(toFake);
  });
});
