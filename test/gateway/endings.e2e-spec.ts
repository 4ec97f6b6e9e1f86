// docs/protocol.md §3.4: how sessions end, and that every ending releases the upstream. Uses a fake
// RealtimeProvider (the `providers` option) that records open() and close() and can fail on demand.
// Also the `sessionEvents` metering hook.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  SessionRegistry } from '../../src/index.js';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { RUNTIME_KEY, startRealtimeApp } from '../helpers/realtime-app.js';
import {
  closeAll,
  connect,
  eventually,
  FAKE_MODEL,
  openWithTicket,
  RecordingProvider,
  sleep,
  type ErrorFrame,
  type RealtimeTestClient } from '../helpers/ws-client.js';
import { RecordingSessionEvents } from '../helpers/fakes.js';

const FAKE = { model: 'fake/model' };


describe.each(PLATFORMS)('session endings (%s)', (platform) => {
  let app: HttpApp;
  let provider: RecordingProvider;
  const clients: RealtimeTestClient[] = [];
  const open = async () => {
    const client = await openWithTicket(app.baseUrl);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    provider = new RecordingProvider();
    app = await startRealtimeApp(platform, { providers: [provider], models: [FAKE_MODEL] });
  });
  afterAll(async () => {
    await closeAll(clients);
    await app.close();
  });

  it('relays upstream events to the client and client events to the upstream', async () => {
    const client = await open();
    await client.start(FAKE);
    const upstream = provider.last;
    expect(upstream.params.config.model).toBe('fake/model');
    expect(upstream.params.projectId).toBe(RUNTIME_KEY.projectId);
    upstream.params.handlers.onEvent({ type: 'text.delta', delta: 'from upstream' });
    expect((await client.next('text.delta')).delta).toBe('from upstream');
    client.send({ type: 'audio.append', audio: Buffer.alloc(480).toString('base64') });
    client.send({ type: 'audio.commit' });
    await eventually(() => upstream.received.length === 2, 'both events reached the upstream');
    expect(upstream.received.map((e) => e.type)).toEqual(['audio.append', 'audio.commit']);
  });

  it('closes the upstream when the client closes', async () => {
    const client = await open();
    await client.start(FAKE);
    const upstream = provider.last;
    expect(upstream.closeCalls).toBe(0);
    await client.close();
    await eventually(() => upstream.closeCalls > 0, 'the upstream was closed');
    expect(upstream.closeCalls).toBe(1);
  });

  it('closes an upstream that finishes opening after the client already left', async () => {
    provider.openDelayMs = 200;
    try {
      const client = await open();
      const opensBefore = provider.opens;
      const upstreamsBefore = provider.upstreams.length;
      client.send({ type: 'session.start', config: FAKE });
      await eventually(() => provider.opens === opensBefore + 1, 'open() was called');
      await client.close();
      await eventually(() => provider.upstreams.length === upstreamsBefore + 1, 'the upstream finished opening', 3000);
      await eventually(() => provider.last.closeCalls === 1, 'the late upstream was closed');
      expect(provider.last.params.signal.aborted).toBe(true);
    } finally {
      provider.openDelayMs = 0;
    }
  });

  it('ends the session when the upstream fails: session.terminating upstream_error, close 1011', async () => {
    const client = await open();
    await client.start(FAKE);
    provider.last.params.handlers.onEnd({ code: 'upstream_error', message: 'boom', closeCode: 1011 });
    const terminating = (await client.next('session.terminating')) as ErrorFrame;
    expect(terminating.error).toEqual({ code: 'upstream_error', message: 'boom' });
    expect((await client.closed).code).toBe(1011);
  });

  it('ends the session when the provider cannot open: upstream_unavailable, close 1011', async () => {
    provider.mode = 'reject';
    try {
      const client = await open();
      client.send({ type: 'session.start', config: FAKE });
      const terminating = (await client.next('session.terminating')) as ErrorFrame;
      expect(terminating.error.code).toBe('upstream_unavailable');
      expect((await client.closed).code).toBe(1011);
      expect(client.ofType('session.started')).toEqual([]);
    } finally {
      provider.mode = 'ok';
    }
  });
});

describe.each(PLATFORMS)('server shutdown (%s)', (platform) => {
  it('ends live sessions with session.terminating server_shutdown and close 1001 on app.close()', async () => {
    const provider = new RecordingProvider();
    const app = await startRealtimeApp(platform, { providers: [provider], models: [FAKE_MODEL] });
    const clients: RealtimeTestClient[] = [];
    try {
      clients.push(await openWithTicket(app.baseUrl), await openWithTicket(app.baseUrl));
      await clients[0].start(FAKE);
      await clients[1].start({ model: 'loopback/echo' });
      // A socket that has not started yet is ended the same way.
      clients.push(await openWithTicket(app.baseUrl));
      await app.close();
      for (const client of clients) {
        const terminating = (await client.next('session.terminating')) as ErrorFrame;
        expect(terminating.error.code).toBe('server_shutdown');
        expect((await client.closed).code).toBe(1001);
      }
      expect(provider.last.closeCalls).toBe(1);
    } finally {
      await closeAll(clients);
      await app.close().catch(() => undefined);
    }
  });
});

describe.each(PLATFORMS)('sessionEvents hook (%s)', (platform) => {
  let app: HttpApp;
  const hook = new RecordingSessionEvents();
  const clients: RealtimeTestClient[] = [];

  beforeAll(async () => {
    app = await startRealtimeApp(platform, { sessionEvents: hook, limits: { idleTimeoutSeconds: 0.3 } });
  });
  afterAll(async () => {
    await closeAll(clients);
    await app.close();
  });

  it('reports a ticket session: started, then ended with bytes, reason and duration', async () => {
    const client = await openWithTicket(app.baseUrl);
    clients.push(client);
    const started = await client.start({ model: 'loopback/echo' });
    await eventually(() => hook.started.length === 1, 'sessionStarted was called');
    expect(hook.started[0]).toEqual({
      sessionId: started.session_id,
      projectId: RUNTIME_KEY.projectId,
      keyId: RUNTIME_KEY.keyId,
      model: 'loopback/echo',
      provider: 'loopback',
      credential: 'ticket',
      startedAt: expect.any(Date),
      // The public id of the ticket that opened it (no metadata was minted, so none is reported).
      ticketId: expect.stringMatching(/^rt_[A-Za-z0-9_-]{22}$/) });
    expect(hook.ended).toEqual([]);

    client.send({ type: 'audio.append', audio: Buffer.alloc(4800, 1).toString('base64') });
    client.send({ type: 'audio.commit' });
    await client.next('response.completed');
    await sleep(100);
    await client.close();
    await eventually(() => hook.ended.length === 1, 'sessionEnded was called');
    const ended = hook.ended[0];
    expect(ended).toMatchObject({
      sessionId: started.session_id,
      projectId: RUNTIME_KEY.projectId,
      model: 'loopback/echo',
      provider: 'loopback',
      credential: 'ticket',
      endReason: 'client_closed',
      closeCode: 1000 });
    // The 4800 bytes of audio went in as base64 and came back the same way.
    expect(ended.bytesIn).toBeGreaterThan(6400);
    expect(ended.bytesOut).toBeGreaterThan(6400);
    expect(ended.durationMs).toBeGreaterThanOrEqual(90);
    expect(ended.durationMs).toBe(ended.endedAt.getTime() - ended.startedAt.getTime());
  });

  it('reports the end reason of a server-side end and a bearer session', async () => {
    const client = connect(app.baseUrl, { bearer: RUNTIME_KEY.key });
    clients.push(client);
    await client.opened();
    const started = await client.start({ model: 'loopback/echo' });
    expect(((await client.next('session.terminating')) as ErrorFrame).error.code).toBe('idle_timeout');
    await client.closed;
    await eventually(() => hook.ended.some((e) => e.sessionId === started.session_id), 'sessionEnded was called');
    const ended = hook.ended.find((e) => e.sessionId === started.session_id)!;
    expect(ended).toMatchObject({ credential: 'api_key', endReason: 'idle_timeout', closeCode: 1000 });
    expect(ended.durationMs).toBeGreaterThanOrEqual(250);
  });

  it('reports the usage of the whole session: per-response usage events summed field by field', async () => {
    const provider = new RecordingProvider();
    const metered = await startRealtimeApp(platform, { sessionEvents: hook, providers: [provider], models: [FAKE_MODEL] });
    try {
      const client = await openWithTicket(metered.baseUrl);
      clients.push(client);
      const started = await client.start(FAKE);
      const { handlers } = provider.last.params;
      handlers.onEvent({ type: 'usage', usage: { input_tokens: 10, output_tokens: 4, output_token_details: { audio_tokens: 3 } } });
      handlers.onEvent({ type: 'usage', usage: { input_tokens: 5, output_tokens: 6, output_token_details: { audio_tokens: 2 } } });
      // The client sees each response's usage as it comes.
      expect((await client.next('usage')).usage).toEqual({ input_tokens: 10, output_tokens: 4, output_token_details: { audio_tokens: 3 } });
      await client.next('usage');
      await client.close();
      await eventually(() => hook.ended.some((e) => e.sessionId === started.session_id), 'sessionEnded was called');
      expect(hook.ended.find((e) => e.sessionId === started.session_id)!.usage).toEqual({
        input_tokens: 15,
        output_tokens: 10,
        output_token_details: { audio_tokens: 5 } });
    } finally {
      await metered.close();
    }
  });

  it('reports nothing for a socket that never started a session', async () => {
    const before = { started: hook.started.length, ended: hook.ended.length };
    const client = await openWithTicket(app.baseUrl);
    clients.push(client);
    await client.close();
    await eventually(() => app.app.get(SessionRegistry).activeSessions === 0, 'the socket is gone');
    expect({ started: hook.started.length, ended: hook.ended.length }).toEqual(before);
  });
});
