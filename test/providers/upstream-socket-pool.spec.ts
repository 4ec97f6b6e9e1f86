// The warm-upstream pool (providers/core/upstream-socket-pool.ts) against a real ws server: what a
// provider sends while a socket is parked reaches the session that takes it, in order, through
// connectUpstream; a socket that floods while parked is dropped; sockets are keyed by target.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { connectUpstream, UpstreamSocketPool, WebSocketUpstreamSession, type OpenUpstreamParams } from '../../src/index.js';
import { eventually } from '../helpers/ws-client.js';

class RecordingSession extends WebSocketUpstreamSession {
  readonly inputSampleRate = 24000;
  readonly outputSampleRate = 24000;
  readonly frames: string[] = [];
  constructor(ws: WebSocket) {
    super(ws, { onEvent: () => undefined, onEnd: () => undefined }, 'Test');
  }
  protected onUpstreamMessage(data: Buffer): void {
    this.frames.push(data.toString('utf8'));
    if (data.toString('utf8') === 'ready') this.markReady();
  }
  protected appendAudio(): void {}
  protected translate(): void {}
  start(): void {
    this.sendJson({ type: 'configure' });
  }
}

describe('UpstreamSocketPool', () => {
  let http: Server;
  let wss: WebSocketServer;
  let url: string;
  let greeting: string[];
  const accepted: WebSocket[] = [];
  let pool: UpstreamSocketPool | undefined;

  beforeEach(async () => {
    greeting = ['hello', 'second'];
    http = createServer();
    wss = new WebSocketServer({ server: http });
    wss.on('connection', (ws, req) => {
      accepted.push(ws);
      for (const text of greeting) ws.send(text);
      ws.on('message', (data) => {
        if (String(data).includes('configure')) ws.send(`ready`);
      });
      (ws as WebSocket & { path?: string }).path = req.url;
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(http.address() as { port: number }).port}/a`;
  });
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
    for (const ws of accepted.splice(0)) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });

  const params = (source: UpstreamSocketPool): OpenUpstreamParams =>
    ({ signal: new AbortController().signal, upstreamSockets: source }) as unknown as OpenUpstreamParams;

  it('replays what the provider sent while parked to the session that takes the socket, before anything newer', async () => {
    pool = new UpstreamSocketPool({ size: 1, idleMs: 10_000 });
    pool.warm({ url, headers: { Authorization: 'Bearer k' } }, { label: 'test', connectTimeoutMs: 2000 });
    await eventually(() => pool!.parkedCount() === 1 && accepted.length === 1, 'a socket is parked');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the greeting arrives while parked
    const session = await connectUpstream(params(pool), { url, headers: { authorization: 'Bearer k' }, connectTimeoutMs: 2000 }, (ws) => new RecordingSession(ws), (s) => s.start());
    expect(session.frames).toEqual(['hello', 'second', 'ready']);
    expect(pool.handedOut).toBe(1);
    session.close();
  });

  it('connects as usual for a target it does not hold (another key)', async () => {
    pool = new UpstreamSocketPool({ size: 1, idleMs: 10_000 });
    pool.warm({ url, headers: { Authorization: 'Bearer k' } }, { label: 'test', connectTimeoutMs: 2000 });
    await eventually(() => pool!.parkedCount() === 1, 'a socket is parked');
    const session = await connectUpstream(params(pool), { url, headers: { Authorization: 'Bearer other' }, connectTimeoutMs: 2000 }, (ws) => new RecordingSession(ws), (s) => s.start());
    expect(pool.handedOut).toBe(0);
    expect(pool.parkedCount()).toBe(1);
    expect(accepted).toHaveLength(2);
    session.close();
  });

  it('drops a socket that sends more than a greeting while parked, and replaces it', async () => {
    greeting = Array.from({ length: 40 }, (_, i) => `frame ${i}`);
    pool = new UpstreamSocketPool({ size: 1, idleMs: 10_000 });
    pool.warm({ url }, { label: 'test', connectTimeoutMs: 2000 });
    await eventually(() => accepted.length >= 2, 'the flooding socket was replaced');
    expect(accepted[0].readyState === accepted[0].CLOSING || accepted[0].readyState === accepted[0].CLOSED).toBe(true);
  });
});
