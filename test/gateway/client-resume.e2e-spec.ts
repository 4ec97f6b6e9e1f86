// Client resume (gateway/session-resume.ts, docs/protocol.md §2 and §5): a browser whose socket
// dropped mid-response re-attaches with `opper-resume.<resume_token>` within the grace window and
// gets every event produced meanwhile exactly once, in order; tokens are single-use; after the
// window the session is gone and the events hook was called once. Real sockets, both platforms,
// the OpenAI fake freezing its answer mid-stream so the drop lands inside a response.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { RealtimeEndpoint, type SessionEndedEvent, type SessionEventsHook, type SessionStartedEvent } from '../../src/index.js';
import { OpenAiProvider } from '../../src/providers/openai/index.js';
import { startOpenAiFake, type OpenAiFake } from '../fakes/openai-fake.js';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { startRealtimeApp } from '../helpers/realtime-app.js';
import { closeAll, connect, eventually, MARKER_PROTOCOL, openWithTicket, type RealtimeTestClient, type ServerFrame } from '../helpers/ws-client.js';
import { ManualClock } from './manual-clock.js';

const MODEL = 'openai/gpt-realtime-2';
const GRACE_SECONDS = 15;

class RecordingHook implements SessionEventsHook {
  readonly started: SessionStartedEvent[] = [];
  readonly ended: SessionEndedEvent[] = [];
  sessionStarted(event: SessionStartedEvent): void {
    this.started.push(event);
  }
  sessionEnded(event: SessionEndedEvent): void {
    this.ended.push(event);
  }
}

const audioOf = (events: ServerFrame[]): Buffer => Buffer.concat(events.filter((e) => e.type === 'audio.delta').map((e) => Buffer.from(e.audio as string, 'base64')));

describe.each(PLATFORMS)('client resume (%s)', (platform) => {
  let fake: OpenAiFake;
  let app: HttpApp;
  let clock: ManualClock;
  let hook: RecordingHook;
  const clients: RealtimeTestClient[] = [];

  beforeAll(async () => {
    // Every answer freezes after two audio deltas until the test releases it.
    fake = await startOpenAiFake({ stallAfterAudioDeltas: 2 });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(async () => {
    clock = new ManualClock();
    hook = new RecordingHook();
    app = await startRealtimeApp(platform, {
      providers: [new OpenAiProvider({ apiKey: 'sk-test', baseUrl: fake.httpUrl })],
      sessionEvents: hook,
      clock,
      limits: { resumeGraceSeconds: GRACE_SECONDS },
    });
  });
  afterEach(async () => {
    await closeAll(clients.splice(0));
    await app.close();
  });

  const resume = (token: string): RealtimeTestClient => {
    const client = connect(app.baseUrl, { protocols: [MARKER_PROTOCOL, `opper-resume.${token}`] });
    clients.push(client);
    return client;
  };
  const sockets = (): number => app.app.get(RealtimeEndpoint).connectedSockets;

  async function startTalking(): Promise<{ client: RealtimeTestClient; token: string }> {
    const client = await openWithTicket(app.baseUrl, { config: { model: MODEL, output_transcription: true } });
    clients.push(client);
    const started = await client.start({});
    expect(started.resume_token).toEqual(expect.stringMatching(/^rsm_[A-Za-z0-9_-]{43}$/));
    return { client, token: started.resume_token as string };
  }

  it('a socket killed mid-response resumes and gets every event produced meanwhile exactly once, in order', async () => {
    const { client, token } = await startTalking();
    const upstreams = fake.connections.length;
    client.send({ type: 'text.input', text: 'Tell me about the weather in Paris' });
    client.send({ type: 'response.create' });
    await client.nextWhere((e) => e.type === 'audio.delta' && client.ofType('audio.delta').length >= 2, 'two audio deltas');

    // The network drops: no close frame (the gateway sees 1006).
    client.ws.terminate();
    await eventually(() => sockets() === 0, 'the gateway noticed the drop');
    // The rest of the answer is produced while nobody is attached.
    fake.last.release();
    await eventually(() => fake.last.sent.some((e) => e.type === 'response.done'), 'the answer finished upstream');

    const back = resume(token);
    expect(await back.opened()).toBe(MARKER_PROTOCOL);
    const resumed = await back.next('session.resumed');
    expect(resumed).toEqual({ type: 'session.resumed', session_id: expect.stringMatching(/^sess_/), resume_token: expect.stringMatching(/^rsm_/) });
    expect(resumed.resume_token).not.toBe(token);
    await back.next('response.completed');

    // Exactly once, in order: both sockets together carry the answer the fake sent, no more, no less.
    const all = [...client.events, ...back.events.filter((e) => e.type !== 'session.resumed')];
    const sentAudio = Buffer.concat(fake.last.sent.filter((e) => e.type === 'response.output_audio.delta').map((e) => Buffer.from(e.delta, 'base64')));
    expect(audioOf(all)).toEqual(sentAudio);
    const types = all.map((e) => e.type).filter((t, i, a) => !(t === 'audio.delta' && a[i - 1] === t));
    expect(types.filter((t) => t === 'response.started')).toHaveLength(1);
    expect(types.filter((t) => t === 'response.completed')).toHaveLength(1);
    expect(types.at(-1)).toBe('response.completed');
    expect(back.events[0].type).toBe('session.resumed');
    // The gap really held events: the resumed socket got audio produced while nobody was attached.
    expect(back.ofType('audio.delta').length).toBeGreaterThan(0);

    // The same live upstream: no new connection, and the conversation goes on.
    expect(fake.connections.length).toBe(upstreams);
    back.send({ type: 'text.input', text: 'And in Rome?' });
    back.send({ type: 'response.create' });
    await back.nextWhere((e) => e.type === 'audio.delta', 'the next answer');
    fake.last.release();
    expect(hook.ended).toHaveLength(0);
  });

  it('a replayed resume token gets 401 invalid_resume_token; so does an unknown one', async () => {
    const { client, token } = await startTalking();
    client.ws.terminate();
    await eventually(() => sockets() === 0, 'the gateway noticed the drop');
    const first = resume(token);
    await first.next('session.resumed');

    const replay = await resume(token).rejected();
    expect(replay.status).toBe(401);
    expect(replay.json).toEqual({ error: expect.objectContaining({ code: 'invalid_resume_token' }) });
    const unknown = await resume('rsm_nope').rejected();
    expect(unknown.status).toBe(401);
    // The resumed socket is not disturbed by the refused replays.
    expect(first.ws.readyState).toBe(first.ws.OPEN);
  });

  it('after the grace window the session is gone: the hook was called once, the token gets 401', async () => {
    const { client, token } = await startTalking();
    client.ws.terminate();
    await eventually(() => sockets() === 0, 'the gateway noticed the drop');
    clock.advance(GRACE_SECONDS * 1000 - 1);
    expect(hook.ended).toHaveLength(0);
    clock.advance(1);
    await eventually(() => hook.ended.length === 1, 'the session-ended hook');
    expect(hook.ended[0]).toMatchObject({ closeCode: 1006, endReason: 'client_closed' });
    const upstream = fake.last;
    expect((await upstream.closed).code).toBe(1000);
    expect((await resume(token).rejected()).status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hook.ended).toHaveLength(1);
  });

  it('a close 1000 from the client ends the session at once, as before (no resume)', async () => {
    const { client, token } = await startTalking();
    client.ws.close(1000);
    await eventually(() => hook.ended.length === 1, 'the session-ended hook');
    expect(hook.ended[0]).toMatchObject({ closeCode: 1000 });
    expect((await resume(token).rejected()).status).toBe(401);
  });

  it('limits.resumeGraceSeconds 0 turns resume off: no resume_token, a drop ends the session at once', async () => {
    const off = await startRealtimeApp(platform, {
      providers: [new OpenAiProvider({ apiKey: 'sk-test', baseUrl: fake.httpUrl })],
      sessionEvents: hook,
      limits: { resumeGraceSeconds: 0 },
    });
    try {
      const client = await openWithTicket(off.baseUrl, { config: { model: MODEL } });
      clients.push(client);
      const started = await client.start({});
      expect(started.resume_token).toBeUndefined();
      client.ws.terminate();
      await eventually(() => hook.ended.length === 1, 'the session-ended hook');
      expect(hook.ended[0]).toMatchObject({ closeCode: 1006 });
    } finally {
      await closeAll(clients.splice(0));
      await off.close();
    }
  });
});
