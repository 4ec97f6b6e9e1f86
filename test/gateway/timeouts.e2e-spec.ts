// docs/protocol.md §3.1, §3.4, §3.5 over real sockets, with time driven by a manual clock (no sleeping
// on the wall clock): the start timeout, the idle timeout, the maximum duration, the slow-consumer
// limit on both sides of the relay, and the one session id a connection has.
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  DEFAULT_LIMITS,
  InMemorySessionLimiter,
  SessionRegistry,
  type RealtimeSessionsModuleOptions,
} from '../../src/index.js';
import { PLATFORMS, type HttpApp, type Platform } from '../helpers/http-app.js';
import { startRealtimeApp } from '../helpers/realtime-app.js';
import {
  closeAll,
  eventually,
  FAKE_MODEL,
  openWithTicket,
  RecordingProvider,
  sleep,
  type ErrorFrame,
  type RealtimeTestClient,
  type ServerFrame } from '../helpers/ws-client.js';
import { ManualClock } from './manual-clock.js';
import { RecordingSessionEvents } from '../helpers/fakes.js';

/** Long enough for a frame the server sent to have arrived on localhost. */
const SETTLE_MS = 100;


class RecordingLimiter extends InMemorySessionLimiter {
  readonly acquired: string[] = [];
  override async acquire(projectId: string, sessionId: string, max: number): Promise<boolean> {
    this.acquired.push(sessionId);
    return super.acquire(projectId, sessionId, max);
  }
}

function codeOf(event: ServerFrame): string {
  return (event as ErrorFrame).error.code;
}

describe.each(PLATFORMS)('session timers and flow control (%s)', (platform: Platform) => {
  let app: HttpApp | undefined;
  let clients: RealtimeTestClient[] = [];
  let clock: ManualClock;
  let provider: RecordingProvider;
  let hook: RecordingSessionEvents;

  async function start(options: RealtimeSessionsModuleOptions = {}): Promise<HttpApp> {
    clock = new ManualClock();
    provider = new RecordingProvider();
    hook = new RecordingSessionEvents();
    app = await startRealtimeApp(platform, { clock, providers: [provider], models: [FAKE_MODEL], sessionEvents: hook, ...options });
    return app;
  }

  async function open(): Promise<RealtimeTestClient> {
    const client = await openWithTicket(app!.baseUrl);
    clients.push(client);
    return client;
  }

  /** A frame the server answers (unknown type → non-fatal error): proves it read everything before. */
  async function ping(client: RealtimeTestClient): Promise<void> {
    client.send({ type: 'ping.test' });
    expect((await client.nextError('unknown_event')).error.message).toContain('ping.test');
  }

  afterEach(async () => {
    await closeAll(clients);
    clients = [];
    await app?.close();
    app = undefined;
  });

  it('one id per connection: the slot lease, session.started, and the events hook share it', async () => {
    const limiter = new RecordingLimiter();
    await start({ sessionLimiter: limiter });
    const client = await open();
    const started = await client.start({ model: FAKE_MODEL.id });
    await client.close();
    await eventually(() => hook.ended.length === 1, 'the session ended');
    expect(limiter.acquired).toEqual([started.session_id]);
    expect(provider.last.params.sessionId).toBe(started.session_id);
    expect(hook.started.map((e) => e.sessionId)).toEqual([started.session_id]);
    expect(hook.ended.map((e) => e.sessionId)).toEqual([started.session_id]);
  });

  it('ends a socket that sends no session.start within the start timeout (1008), not a millisecond before', async () => {
    await start();
    const client = await open();
    clock.advance(DEFAULT_LIMITS.startTimeoutSeconds * 1000 - 1);
    await sleep(SETTLE_MS);
    expect(client.events).toEqual([]);
    clock.advance(1);
    expect((await client.nextError('session_not_started')).error.message).toBe(`No session.start within ${DEFAULT_LIMITS.startTimeoutSeconds} s`);
    expect(codeOf(await client.next('session.terminating'))).toBe('session_not_started');
    expect((await client.closed).code).toBe(1008);
    expect(client.events.map((e) => e.type)).toEqual(['error', 'session.terminating']);
  });

  it('ends an idle session (idle_timeout, 1000); any client frame keeps it alive', async () => {
    await start();
    const client = await open();
    await client.start({ model: FAKE_MODEL.id });
    const idleMs = DEFAULT_LIMITS.idleTimeoutSeconds * 1000;
    // Three times the idle timeout in all, never idle for the whole of it.
    for (let i = 0; i < 3; i++) {
      clock.advance(idleMs - 1);
      await ping(client);
    }
    expect(client.ofType('session.terminating')).toEqual([]);
    clock.advance(idleMs - 1);
    await sleep(SETTLE_MS);
    expect(client.ofType('session.terminating')).toEqual([]);
    clock.advance(1);
    const terminating = await client.next('session.terminating');
    expect(terminating).toEqual({ type: 'session.terminating', error: { code: 'idle_timeout', message: `No client frame for ${DEFAULT_LIMITS.idleTimeoutSeconds} s` } });
    expect((await client.closed).code).toBe(1000);
  });

  it('ends a session at its maximum duration (max_duration_reached, 1000) even while it is busy', async () => {
    await start();
    const client = await open();
    await client.start({ model: FAKE_MODEL.id });
    const maxMs = DEFAULT_LIMITS.maxSessionSeconds * 1000;
    const step = 60_000;
    for (let elapsed = 0; elapsed + step < maxMs; elapsed += step) {
      clock.advance(step);
      await ping(client);
    }
    expect(client.ofType('session.terminating')).toEqual([]);
    clock.advance(maxMs % step || step);
    expect(codeOf(await client.next('session.terminating'))).toBe('max_duration_reached');
    expect((await client.closed).code).toBe(1000);
  });

  describe('slow consumers (highWaterMarkBytes 64 KiB)', () => {
    const limits = { highWaterMarkBytes: 64 * 1024 };
    const slowMs = DEFAULT_LIMITS.slowConsumerSeconds * 1000;
    const AUDIO = Buffer.alloc(48_000).toString('base64');

    /** Upstream audio until the server's send buffer is over the mark (the client is not reading). */
    async function floodClient(): Promise<{ pauses: () => number; resumes: () => number }> {
      const upstream = provider.last;
      let pauses = 0;
      let resumes = 0;
      upstream.pause = () => void (pauses += 1);
      upstream.resume = () => void (resumes += 1);
      for (let i = 0; i < 2000 && pauses === 0; i++) {
        upstream.params.handlers.onEvent({ type: 'audio.delta', audio: AUDIO });
        if (i % 20 === 19) await sleep(1);
      }
      expect(pauses).toBe(1);
      return { pauses: () => pauses, resumes: () => resumes };
    }

    it('pauses the upstream for a client over the mark, and cuts the client that stays there (slow_consumer)', async () => {
      await start({ limits });
      const client = await open();
      await client.start({ model: FAKE_MODEL.id });
      client.ws.pause();
      await floodClient();
      clock.advance(slowMs - 1);
      await sleep(SETTLE_MS);
      expect(app!.app.get(SessionRegistry).activeSessions).toBe(1);
      clock.advance(1);
      await eventually(() => hook.ended.length === 1, 'the session ended');
      expect(hook.ended[0]).toMatchObject({ endReason: 'slow_consumer', closeCode: 1008 });
      client.ws.resume();
      expect((await client.closed).code).toBe(1006); // terminated: its buffer was full
    });

    it('resumes the upstream once the client catches up, and does not cut it', async () => {
      await start({ limits });
      const client = await open();
      await client.start({ model: FAKE_MODEL.id });
      client.ws.pause();
      const flow = await floodClient();
      client.ws.resume();
      await eventually(() => flow.resumes() === 1, 'the upstream is resumed');
      clock.advance(slowMs * 2);
      await ping(client);
      expect(client.ofType('session.terminating')).toEqual([]);
    });

    /** A client event relayed upstream while the upstream reports a buffer over the mark. */
    async function overTheMark(client: RealtimeTestClient): Promise<void> {
      client.send({ type: 'audio.clear' });
      await eventually(() => provider.last.received.length === 1, 'the upstream got audio.clear');
    }

    it('stops reading the client while the upstream is over the mark, and resumes on its drained signal', async () => {
      await start({ limits });
      const client = await open();
      await client.start({ model: FAKE_MODEL.id });
      const upstream = provider.last as { bufferedAmount: number } & typeof provider.last;
      upstream.bufferedAmount = limits.highWaterMarkBytes + 1;
      await overTheMark(client);
      client.send({ type: 'ping.test' });
      await sleep(SETTLE_MS);
      expect(client.ofType('error')).toEqual([]); // not read while the upstream is over the mark
      upstream.bufferedAmount = limits.highWaterMarkBytes / 2;
      upstream.params.handlers.onDrain!();
      expect((await client.nextError('unknown_event')).error.message).toContain('ping.test');
      clock.advance(slowMs * 2);
      await ping(client);
      expect(client.ofType('session.terminating')).toEqual([]);
    });

    it('ends the session when the upstream stays over the mark (slow_consumer, 1008)', async () => {
      await start({ limits });
      const client = await open();
      await client.start({ model: FAKE_MODEL.id });
      const upstream = provider.last as { bufferedAmount: number } & typeof provider.last;
      upstream.bufferedAmount = limits.highWaterMarkBytes + 1;
      await overTheMark(client);
      clock.advance(slowMs - 1);
      await sleep(SETTLE_MS);
      expect(client.ofType('session.terminating')).toEqual([]);
      clock.advance(1);
      expect(await client.next('session.terminating')).toEqual({
        type: 'session.terminating',
        error: { code: 'slow_consumer', message: 'The upstream did not keep up with the stream' } });
      // The client is still not read, so its close reply is not either: the close grace cuts it.
      clock.advance(2000);
      expect((await client.closed).code).toBe(1008);
      await eventually(() => hook.ended.length === 1, 'the session ended');
      expect(hook.ended[0]).toMatchObject({ endReason: 'slow_consumer', closeCode: 1008 });
    });
  });
});
