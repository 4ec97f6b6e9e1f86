// Property: whatever a client sends after `session.start` — arbitrary JSON and non-JSON text, binary
// frames, fragmented frames, wrong field types, events out of order (before `session.started`, a
// second `session.start`, results for calls never made), huge or invalid base64, odd-length PCM,
// `session.update` storms — gets `error` events (docs/protocol.md §5) or, for a frame over
// `maxFrameBytes`, the documented close 1009 (`frame_too_big`), and nothing else:
//   - the fuzzed session keeps working both ways (a probe reaches the upstream and comes back);
//   - a second, well-behaved session on the same app keeps working after every run;
//   - nothing the provider would refuse for its protocol reaches the OpenAI fake: the fake answers a
//     frame that is not valid OpenAI Realtime with an `error` event, as the real server does
//     (invalid_json, missing_required_parameter, unknown_parameter, invalid_type, invalid_value), and
//     no such error may appear. The provider's *state* refusals — committing less than 100 ms of
//     audio, a response.create while one is running, a cancel with none, a voice change after
//     audio — depend on what only the provider knows; they reach the client as `error` events
//     carrying the provider's code, and are allowed. Appended audio must be whole PCM16 samples.
// On `loopback/echo` and on the OpenAI fake, Express and Fastify.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import WebSocket from 'ws';
import { RealtimeEndpoint, SessionRegistry } from '../../src/index.js';
import { OpenAiProvider } from '../../src/providers/openai/index.js';
import { OPENAI_VOICES, startOpenAiFake, type FakeConnection, type OpenAiFake } from '../fakes/openai-fake.js';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { startRealtimeApp } from '../helpers/realtime-app.js';
import { SILENT_LOGGER } from '../helpers/redis-server.js';
import { connect, eventually, mintTicket, type RealtimeTestClient, type ServerFrame } from '../helpers/ws-client.js';
import { fuzzParameters, fuzzTimeout } from './fuzz.js';

const RUNS = 200;
/** Small, so "huge" frames past the limit are cheap to send; "huge" frames under it are 100–200 kB. */
const MAX_FRAME_BYTES = 256 * 1024;
/** The OpenAI fake's refusals that depend on provider state, not on the frame (see the header). */
const PROVIDER_STATE_ERRORS = new Set(['input_audio_buffer_commit_empty', 'conversation_already_has_active_response', 'response_cancel_not_active', 'cannot_update_voice']);
const CLIENT_EVENT_TYPES = ['session.start', 'session.update', 'audio.append', 'audio.commit', 'audio.clear', 'text.input', 'image.input', 'response.create', 'response.cancel', 'tool.result'];

/** One thing a client sends. */
type Frame =
  | { kind: 'text'; data: string }
  | { kind: 'binary'; data: Uint8Array }
  | { kind: 'fragmented'; parts: string[] }
  | { kind: 'storm'; updates: Array<Record<string, unknown>> }
  | { kind: 'huge-audio'; bytes: number; valid: boolean };

const json = (value: unknown) => JSON.stringify(value);
const base64Of = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** A value of any JSON type, small (wrong types at every field). */
const anyValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
);

/** session.update configs: valid changes, wrong types, unknown fields, a model change, locked-looking fields. */
const configArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record(
    {
      instructions: fc.string({ maxLength: 40 }),
      voice: fc.constantFrom(...OPENAI_VOICES, 'echo', ''),
      modalities: fc.constantFrom(['audio'], ['text'], ['audio', 'text'], []),
      turn_detection: fc.oneof(fc.constant({ type: 'none' }), fc.constant({ type: 'server_vad', silence_duration_ms: 300 }), fc.constant({ type: 'semantic_vad' })),
      input_transcription: fc.boolean(),
      output_transcription: fc.boolean(),
      tools: fc.constantFrom([], [{ name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: {} } }]),
      temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    },
    { requiredKeys: [] },
  ),
  fc.dictionary(fc.constantFrom('instructions', 'voice', 'modalities', 'turn_detection', 'tools', 'model', 'temperature', 'reasoning_effort', 'input_audio_format', 'bogus', '__proto__', 'constructor'), anyValue, { maxKeys: 4 }),
);

/** A known event type with fields of random (often wrong) types. */
const eventArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ type: fc.constantFrom(...CLIENT_EVENT_TYPES) }),
  fc.record({ type: fc.constantFrom(...CLIENT_EVENT_TYPES), audio: anyValue, text: anyValue, config: anyValue, image_url: anyValue, image_detail: anyValue, tool_call_id: anyValue, tool_result: anyValue }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constant('audio.append'), audio: fc.uint8Array({ maxLength: 600 }).map(base64Of) }), // odd and even lengths
  fc.record({ type: fc.constant('audio.append'), audio: fc.string({ unit: fc.constantFrom(...'AB+/=!-_ \n'), maxLength: 24 }) }), // invalid base64
  fc.record({ type: fc.constant('text.input'), text: fc.string({ maxLength: 200 }) }),
  fc.record({ type: fc.constant('image.input'), image_url: fc.string({ maxLength: 40 }), image_detail: fc.constantFrom('auto', 'low', 'high', 'x', undefined), text: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }) }, { requiredKeys: ['type', 'image_url'] }),
  fc.record({ type: fc.constant('tool.result'), tool_call_id: fc.string({ maxLength: 30 }), tool_result: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ type: fc.constant('session.update'), config: configArb }),
  fc.record({ type: fc.constant('session.start'), config: fc.constant({ model: 'loopback/echo' }) }),
  fc.record({ type: fc.string({ maxLength: 20 }) }),
);

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 6, arbitrary: eventArb.map((e): Frame => ({ kind: 'text', data: json(e) })) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v): Frame => ({ kind: 'text', data: json(v) ?? 'null' })) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }).map((data): Frame => ({ kind: 'text', data })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }).map((data): Frame => ({ kind: 'binary', data })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.oneof(eventArb.map(json), fc.string({ maxLength: 60 })), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }))
      .map(([text, cuts]): Frame => {
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const parts: string[] = [];
        let from = 0;
        for (const p of points) {
          parts.push(text.slice(from, p));
          from = p;
        }
        parts.push(text.slice(from));
        return { kind: 'fragmented', parts };
      }),
  },
  { weight: 1, arbitrary: fc.array(configArb, { minLength: 20, maxLength: 60 }).map((updates): Frame => ({ kind: 'storm', updates })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ bytes: fc.oneof(fc.integer({ min: 100_000, max: 150_000 }), fc.integer({ min: 200_000, max: 400_000 })), valid: fc.boolean() })
      .map((h): Frame => ({ kind: 'huge-audio', ...h })),
  },
);

interface FuzzCase {
  /** Send the frames right after session.start, without waiting for session.started. */
  early: boolean;
  frames: Frame[];
}
const caseArb: fc.Arbitrary<FuzzCase> = fc.record({ early: fc.boolean(), frames: fc.array(frameArb, { minLength: 1, maxLength: 8 }) });

/** Sends one frame; returns the size of its largest WebSocket message (for the 1009 expectation). */
function sendFrame(client: RealtimeTestClient, frame: Frame): number {
  const ws = client.ws;
  if (ws.readyState !== WebSocket.OPEN) return 0;
  switch (frame.kind) {
    case 'text':
      ws.send(frame.data);
      return Buffer.byteLength(frame.data);
    case 'binary':
      ws.send(frame.data, { binary: true });
      return frame.data.length;
    case 'fragmented':
      frame.parts.forEach((part, i) => ws.send(part, { fin: i === frame.parts.length - 1, binary: false }));
      return Buffer.byteLength(frame.parts.join(''));
    case 'storm':
      for (const config of frame.updates) ws.send(json({ type: 'session.update', config }));
      return Math.max(...frame.updates.map((config) => Buffer.byteLength(json({ type: 'session.update', config }))));
    case 'huge-audio': {
      let audio = Buffer.alloc(frame.bytes - (frame.bytes % 2), 7).toString('base64');
      if (!frame.valid) audio = `${audio.slice(0, 1000)}%%${audio.slice(1002)}`;
      const data = json({ type: 'audio.append', audio });
      ws.send(data);
      return data.length;
    }
  }
}

const MODELS = [
  { label: 'loopback/echo', model: 'loopback/echo' },
  { label: 'OpenAI fake', model: 'openai/gpt-realtime-2' },
] as const;

describe.each(PLATFORMS.flatMap((platform) => MODELS.map((m) => [platform, m.label, m.model] as const)))('client frames after session.start (%s, %s)', (platform, _label, model) => {
  const onOpenAi = model !== 'loopback/echo';
  let app: HttpApp;
  let fake: OpenAiFake;
  let witness: RealtimeTestClient;
  let witnessConn: FakeConnection | undefined;
  let probes = 0;

  /** Opens a session; on the OpenAI fake, also returns its upstream connection. */
  async function open(early = false): Promise<{ client: RealtimeTestClient; conn?: FakeConnection }> {
    const ticket = await mintTicket(app.baseUrl, { config: { model } });
    const client = connect(app.baseUrl, { ticket });
    await client.opened();
    const index = fake.connections.length;
    client.send({ type: 'session.start', config: { model } });
    if (!early) await client.next('session.started');
    return { client, conn: onOpenAi ? await fake.connection(index) : undefined };
  }

  /**
   * The session works both ways: a text reaches the upstream and something comes back. On the
   * fake, the text must arrive as a conversation item and an error injected upstream must reach
   * the client; on the echo, the text comes back in a text.delta.
   */
  async function probe(client: RealtimeTestClient, conn: FakeConnection | undefined): Promise<void> {
    const marker = `probe-${(probes += 1)}`;
    const from = conn?.received.length ?? 0;
    client.send({ type: 'text.input', text: marker });
    if (conn) {
      await conn.waitFor((m) => m.type === 'conversation.item.create' && json(m).includes(marker), `the probe ${marker}`, 5000, from);
      conn.injectError({ code: marker, message: 'probe', type: 'server_error' });
      await client.nextError(marker);
    } else {
      client.send({ type: 'response.create' });
      await client.nextWhere((e) => e.type === 'text.delta' && String(e.delta).includes(marker), `the echo of ${marker}`);
    }
  }

  /**
   * The fake's error events that mean "this frame is not valid OpenAI Realtime", and any appended
   * audio that is not whole PCM16 samples (the fake takes it; a PCM16 stream cannot carry it).
   */
  function protocolRefusals(conn: FakeConnection | undefined): unknown[] {
    const refused = (conn?.sent ?? []).filter((e) => e.type === 'error' && !PROVIDER_STATE_ERRORS.has(e.error?.code) && !String(e.error?.code).startsWith('probe-') && e.error?.code !== 'server_error');
    const oddAudio = (conn?.ofType('input_audio_buffer.append') ?? []).filter((m) => Buffer.from(String(m.audio), 'base64').length % 2 !== 0).map((m) => ({ oddAudioBytes: Buffer.from(String(m.audio), 'base64').length }));
    return [...refused, ...oddAudio];
  }

  beforeAll(async () => {
    fake = await startOpenAiFake();
    app = await startRealtimeApp(platform, {
      providers: [new OpenAiProvider({ apiKey: 'sk-test', baseUrl: fake.httpUrl })],
      // Client resume off: a fuzzed socket that drops ends its session at once (resume has its own tests).
      limits: { maxFrameBytes: MAX_FRAME_BYTES, mintsPerKeyPerSecond: 1_000_000, upgradesPerIpPerSecond: 1_000_000, maxSessionsPerProject: 1000, resumeGraceSeconds: 0 },
    });
    app.app.useLogger(SILENT_LOGGER);
    ({ client: witness, conn: witnessConn } = await open());
  });
  afterAll(async () => {
    await witness?.close();
    await app?.close();
    await fake?.close();
  });

  it(
    'answers with error events or close 1009, keeps this and every other session working, and sends the provider nothing it refuses',
    async () => {
      const closes = new Map<number, number>();
      let errors = 0;
      await fc.assert(
        fc.asyncProperty(caseArb, async (c) => {
          const { client, conn } = await open(c.early);
          try {
            let largest = 0;
            for (const frame of c.frames) largest = Math.max(largest, sendFrame(client, frame));
            if (largest > MAX_FRAME_BYTES) {
              // docs/protocol.md §3: a frame over the limit ends the session with 1009.
              const closed = await client.closed;
              closes.set(closed.code, (closes.get(closed.code) ?? 0) + 1);
              expect(closed.code).toBe(1009);
            } else {
              if (c.early) await client.next('session.started');
              await probe(client, conn);
              expect(client.ws.readyState).toBe(WebSocket.OPEN);
            }
            // Every frame from the gateway is JSON, and every error event carries a code and a message.
            expect(client.nonJson).toEqual([]);
            const errorEvents = client.events.filter((e: ServerFrame) => e.type === 'error') as Array<ServerFrame & { error: { code: unknown; message: unknown } }>;
            errors += errorEvents.length;
            for (const e of errorEvents) {
              expect(typeof e.error.code).toBe('string');
              expect(typeof e.error.message).toBe('string');
            }
            expect(protocolRefusals(conn)).toEqual([]);
            // The well-behaved session next to it keeps working.
            await probe(witness, witnessConn);
            expect(protocolRefusals(witnessConn)).toEqual([]);
          } finally {
            await client.close();
          }
        }),
        fuzzParameters(RUNS),
      );
      const registry = app.app.get(SessionRegistry);
      const endpoint = app.app.get(RealtimeEndpoint);
      // Only the witness is left.
      await eventually(() => registry.activeSessions === 1 && endpoint.connectedSockets === 1, 'only the witness session is left');
      if (onOpenAi) await eventually(() => fake.connections.filter((c) => c.ws.readyState !== WebSocket.CLOSED).length === 1, 'only the witness upstream is open');
      console.log(`client-frame fuzz (${platform}, ${model}): ${errors} error events, closes ${json(Object.fromEntries(closes))}`);
    },
    fuzzTimeout(RUNS, 300),
  );
});
