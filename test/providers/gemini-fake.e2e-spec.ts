// The Gemini fake speaks the real protocol: Google's own live client (@google/genai) connects to it,
// sets up, sends realtime input, text and tool responses, and gets the recorded server messages
// back through its callbacks. Then the fake's strictness, frame by frame over a raw socket.
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { GoogleGenAI, Modality, Type, type LiveServerMessage, type Session } from '@google/genai';
import WebSocket from 'ws';
import { GEMINI_LIVE_PATH } from '../../src/providers/gemini/gemini.provider.js';
import {
  CURRENT_GEMINI_MODELS,
  GeminiCloseReason,
  GeminiFake,
  RECORDED_GEMINI_MODELS,
  modelNotFoundReason,
  type GeminiFakeSession,
} from '../fakes/gemini-fake.js';
import { readRecording, type Recording } from '../fakes/recording.js';

const RECORDED_MODEL = 'gemini-live-2.5-flash-preview';
const fixture = (path: string): string => new URL(`../fixtures/${path}`, import.meta.url).pathname;
const recording = (name: string): Recording => readRecording(fixture(`gemini-live/live_ML_Dev_${name}.websocket.log`));
const HELLO_PCM = readFileSync(fixture('audio/hello_are_you_there.16k.pcm'));

/** The server frames of a recording (parsed), in order, without setupComplete. */
const recordedReplies = (rec: Recording): unknown[] => rec.frames.filter((f) => f.direction === 'server').slice(1).map((f) => f.json);
/** Plain JSON of what the SDK handed its callback (its LiveServerMessage class has getters). */
const plain = (messages: LiveServerMessage[]): unknown[] => messages.map((m) => JSON.parse(JSON.stringify(m)));

async function eventually(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface SdkSession {
  session: Session;
  messages: LiveServerMessage[];
  fakeSession: GeminiFakeSession;
  /** Resolves with the messages once `count` turnComplete messages arrived. */
  turns(count: number): Promise<LiveServerMessage[]>;
}

async function connectSdk(fake: GeminiFake, params: Partial<Parameters<GoogleGenAI['live']['connect']>[0]> = {}, apiKey = 'test-key'): Promise<SdkSession> {
  const ai = new GoogleGenAI({ apiKey, httpOptions: { baseUrl: fake.httpUrl } });
  const messages: LiveServerMessage[] = [];
  let wake = (): void => undefined;
  const session = await ai.live.connect({
    model: RECORDED_MODEL,
    ...params,
    callbacks: {
      onmessage: (message) => {
        messages.push(message);
        wake();
      },
    },
  });
  const turns = (count: number): Promise<LiveServerMessage[]> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(plain(messages)).slice(0, 1000)}`)), 5000);
      wake = () => {
        if (messages.filter((m) => m.serverContent?.turnComplete).length >= count) {
          clearTimeout(timer);
          resolve(messages);
        }
      };
      wake();
    });
  return { session, messages, fakeSession: fake.last, turns };
}

describe('Gemini fake, driven by @google/genai (the official live client)', () => {
  let fake: GeminiFake;
  const sessions: Session[] = [];
  beforeAll(async () => {
    // The recordings were made with a half-cascade model (TEXT replies), retired since.
    fake = await GeminiFake.start({ models: { ...CURRENT_GEMINI_MODELS, ...RECORDED_GEMINI_MODELS } });
  });
  afterEach(() => {
    for (const session of sessions.splice(0)) session.close();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('setup → setupComplete; realtime text → the recorded reply, verbatim, then turnComplete + usage', async () => {
    const rec = recording('should_reply_to_realtime_text_input');
    const sdk = await connectSdk(fake, { config: { responseModalities: [Modality.TEXT] } });
    sessions.push(sdk.session);
    // The SDK's setup is exactly the recorded one.
    expect(sdk.fakeSession.received[0]).toEqual(rec.frames[0].json);
    sdk.session.sendRealtimeInput({ text: 'Are you there Gemini?' });
    const messages = plain(await sdk.turns(1));
    expect(sdk.fakeSession.received[1]).toEqual(rec.frames[2].json);
    expect(messages[0]).toEqual({ setupComplete: {} });
    expect(messages.slice(1, 3)).toEqual(recordedReplies(rec));
    expect(messages.slice(3, 5)).toEqual([
      { serverContent: { generationComplete: true } },
      { serverContent: { turnComplete: true }, usageMetadata: expect.objectContaining({ promptTokenCount: expect.any(Number), totalTokenCount: expect.any(Number) }) },
    ]);
    expect(sdk.messages.slice(1, 3).map((m) => m.text).join('')).toBe("Yes, I'm here! How can I help you today?");
  });

  it('realtime audio (the real speech file) → the recorded reply to it', async () => {
    const rec = recording('should_reply_to_realtime_audio_input');
    const sdk = await connectSdk(fake, { config: { responseModalities: [Modality.TEXT] } });
    sessions.push(sdk.session);
    sdk.session.sendRealtimeInput({ audio: { data: HELLO_PCM.toString('base64'), mimeType: 'audio/pcm;rate=16000' } });
    const messages = plain(await sdk.turns(1));
    expect(sdk.fakeSession.received[1]).toEqual(rec.frames[2].json); // what the SDK sent is what was recorded
    expect(messages.slice(1, 3)).toEqual(recordedReplies(rec));
  });

  it('manual activity: activityStart, audio, activityEnd → the recorded reply', async () => {
    const rec = recording('handle_activity_start_and_end');
    const sdk = await connectSdk(fake, { config: { responseModalities: [Modality.TEXT], realtimeInputConfig: { automaticActivityDetection: { disabled: true } } } });
    sessions.push(sdk.session);
    expect(sdk.fakeSession.received[0]).toEqual(rec.frames[0].json);
    sdk.session.sendRealtimeInput({ activityStart: {} });
    sdk.session.sendRealtimeInput({ audio: { data: HELLO_PCM.toString('base64'), mimeType: 'audio/pcm;rate=16000' } });
    sdk.session.sendRealtimeInput({ activityEnd: {} });
    const messages = plain(await sdk.turns(1));
    expect(messages.slice(1, 3)).toEqual(recordedReplies(rec));
  });

  it('clientContent with output transcription (audio replies): the recorded transcript, audio frames of real speech', async () => {
    const rec = recording('should_receive_transcription_in_async_session_with_transcription_enabled');
    const sdk = await connectSdk(fake, { config: { outputAudioTranscription: {} } });
    sessions.push(sdk.session);
    expect(sdk.fakeSession.received[0]).toEqual(rec.frames[0].json);
    sdk.session.sendClientContent({ turns: [{ parts: [{ text: 'Hello what should we talk about?' }], role: 'user' }], turnComplete: true });
    const messages = await sdk.turns(1);
    expect(plain(messages.filter((m) => m.serverContent?.outputTranscription))).toEqual(recordedReplies(rec));
    const audio = messages.filter((m) => m.serverContent?.modelTurn?.parts?.[0]?.inlineData);
    expect(audio.length).toBeGreaterThan(0);
    expect(audio.every((m) => m.serverContent!.modelTurn!.parts![0].inlineData!.mimeType === 'audio/pcm;rate=24000')).toBe(true);
    expect(messages.at(-1)!.usageMetadata?.totalTokenCount).toBeGreaterThan(0);
  });

  it('a tool call (function-call-<digits>) → sendToolResponse → the model continues by itself', async () => {
    const rec = recording('should_send_tool_response');
    const tools = [
      {
        functionDeclarations: [
          {
            name: 'get_current_weather',
            description: 'Get the current weather in a given location',
            parameters: {
              type: Type.OBJECT,
              properties: {
                location: { type: Type.STRING, description: 'The city and state, e.g. San Francisco, CA' },
                unit: { type: Type.STRING, enum: ['celsius', 'fahrenheit'] },
              },
              required: ['location'],
            },
          },
        ],
      },
    ];
    const sdk = await connectSdk(fake, { config: { tools } });
    sessions.push(sdk.session);
    expect(sdk.fakeSession.received[0]).toEqual(rec.frames[0].json);
    sdk.session.sendClientContent({ turns: [{ parts: [{ text: 'what is the weather in Redmond Washington' }], role: 'user' }], turnComplete: true });
    await eventually(() => sdk.messages.some((m) => m.toolCall));
    const call = sdk.messages.find((m) => m.toolCall)!.toolCall!.functionCalls![0];
    expect(call.id).toMatch(/^function-call-\d+$/);
    expect({ name: call.name, args: call.args }).toEqual({ name: 'get_current_weather', args: { location: 'Redmond, WA' } });
    expect(plain(sdk.messages)[1]).toEqual(recordedReplies(rec)[0]); // executableCode, as recorded
    expect(sdk.fakeSession.turnsCompleted).toBe(0);
    sdk.session.sendToolResponse({ functionResponses: [{ id: call.id, name: call.name, response: { temp_f: 51 } }] });
    const messages = await sdk.turns(1);
    expect(messages.some((m) => m.serverContent?.modelTurn?.parts?.some((p) => p.inlineData))).toBe(true);
  });

  it('refusals reach the SDK as close frames: bad key 1007, unknown model 1008, TEXT on a native-audio model 1007', async () => {
    const ai = (key: string) => new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: fake.httpUrl } });
    await expect(ai('wrong-key').live.connect({ model: RECORDED_MODEL, callbacks: { onmessage: () => undefined } })).rejects.toThrow(
      `(code 1007): ${GeminiCloseReason.InvalidKey}`,
    );
    await expect(ai('test-key').live.connect({ model: 'gemini-9-nope', callbacks: { onmessage: () => undefined } })).rejects.toThrow(
      // @google/genai 3.x connects to `v1` (the fake serves it too).
      `(code 1008): ${modelNotFoundReason('models/gemini-9-nope', 'v1')}`,
    );
    await expect(
      ai('test-key').live.connect({ model: 'gemini-3.1-flash-live-preview', config: { responseModalities: [Modality.TEXT] }, callbacks: { onmessage: () => undefined } }),
    ).rejects.toThrow(`(code 1007): ${GeminiCloseReason.NonAudioVoices}`);
  });
});

// ── the wire, frame by frame ──────────────────────────────────────────────────────────────────────

interface Frame {
  binary: boolean;
  text: string;
  json: Record<string, unknown>;
}

class RawClient {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on('message', (data: Buffer, binary) => {
      this.frames.push({ binary, text: data.toString('utf8'), json: JSON.parse(data.toString('utf8')) });
    });
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  async until(predicate: (frames: Frame[]) => boolean, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.frames)) {
      if (Date.now() > deadline) throw new Error(`timed out; frames: ${JSON.stringify(this.frames.map((f) => f.json)).slice(0, 1500)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  keys(): string[] {
    return this.frames.map((f) => Object.keys(f.json.serverContent ?? f.json)[0]);
  }
}

describe('Gemini fake, strict like the real server', () => {
  let fake: GeminiFake;
  const clients: RawClient[] = [];
  const url = (key: string | null = 'test-key', path = GEMINI_LIVE_PATH) => `${fake.httpUrl.replace('http', 'ws')}${path}${key === null ? '' : `?key=${key}`}`;
  const open = async (key?: string | null, path?: string): Promise<RawClient> => {
    const client = new RawClient(url(key, path));
    clients.push(client);
    await client.opened;
    return client;
  };
  const setUp = async (setup: Record<string, unknown> = {}): Promise<RawClient> => {
    const client = await open();
    client.send({ setup: { model: 'models/gemini-3.1-flash-live-preview', ...setup } });
    await client.until((frames) => frames.length === 1);
    return client;
  };

  beforeAll(async () => {
    fake = await GeminiFake.start();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.ws.terminate();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('answers setup with setupComplete as a binary frame of pretty-printed JSON', async () => {
    const client = await setUp();
    expect(client.frames[0]).toEqual({ binary: true, text: '{\n  "setupComplete": {}\n}\n', json: { setupComplete: {} } });
  });

  it('refuses another path with HTTP 404 before any upgrade', async () => {
    const client = new RawClient(url('test-key', '/ws/google.ai.generativelanguage.v1beta.GenerativeService.Nope'));
    await expect(client.opened).rejects.toThrow('Unexpected server response: 404');
  });

  it.each([
    ['no key', null, { setup: { model: 'models/gemini-3.1-flash-live-preview' } }, 1007, GeminiCloseReason.InvalidKey],
    ['a wrong key', 'nope', { setup: { model: 'models/gemini-3.1-flash-live-preview' } }, 1007, GeminiCloseReason.InvalidKey],
    ['a first message that is not setup', 'test-key', { realtimeInput: { text: 'hi' } }, 1007, GeminiCloseReason.InvalidArgument],
    ['a model without models/', 'test-key', { setup: { model: 'gemini-3.1-flash-live-preview' } }, 1008, modelNotFoundReason('gemini-3.1-flash-live-preview')],
    ['a retired model', 'test-key', { setup: { model: 'models/gemini-live-2.5-flash-preview' } }, 1008, modelNotFoundReason('models/gemini-live-2.5-flash-preview')],
    [
      'an unknown setup field',
      'test-key',
      { setup: { model: 'models/gemini-3.1-flash-live-preview', generationConfig: { voice: 'Puck' } } },
      1007,
      'Invalid JSON payload received. Unknown name "voice" at \'setup.generation_config\': Cannot find field.',
    ],
    [
      'two modalities',
      'test-key',
      { setup: { model: 'models/gemini-3.1-flash-live-preview', generationConfig: { responseModalities: ['AUDIO', 'TEXT'] } } },
      1007,
      GeminiCloseReason.InvalidArgument,
    ],
    [
      'an unknown voice',
      'test-key',
      { setup: { model: 'models/gemini-3.1-flash-live-preview', generationConfig: { speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'marin' } } } } } },
      1007,
      GeminiCloseReason.InvalidArgument,
    ],
  ])('closes on %s (%s)', async (_what, key, message, code, reason) => {
    const client = await open(key as string | null);
    client.send(message);
    expect(await client.closed).toEqual({ code, reason });
    expect(client.frames).toEqual([]);
  });

  it('cuts the not-found reason at the 123 bytes a close frame holds, like Google', () => {
    const reason = modelNotFoundReason('models/gemini-9-nope');
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    expect(reason).toMatch(/^models\/gemini-9-nope is not found for API version v1beta, or is not supported for bidiGenerateContent\. Call/);
  });

  it.each([
    ['a second setup', {}, { setup: { model: 'models/gemini-3.1-flash-live-preview' } }],
    ['two realtime fields in one message', {}, { realtimeInput: { text: 'a', audioStreamEnd: true } }],
    ['activityStart with automatic activity detection', {}, { realtimeInput: { activityStart: {} } }],
    ['audio outside an activity with manual turns', { realtimeInputConfig: { automaticActivityDetection: { disabled: true } } }, { realtimeInput: { audio: { data: 'AAAA', mimeType: 'audio/pcm;rate=16000' } } }],
    ['audioStreamEnd with manual turns', { realtimeInputConfig: { automaticActivityDetection: { disabled: true } } }, { realtimeInput: { audioStreamEnd: true } }],
    ['audio that is not PCM', {}, { realtimeInput: { audio: { data: 'AAAA', mimeType: 'audio/wav' } } }],
    ['clientContent mid-conversation on a 3.x model', {}, { clientContent: { turns: [{ role: 'user', parts: [{ text: 'hi' }] }], turnComplete: true } }],
  ])('closes 1007 on %s', async (_what, setup, message) => {
    const client = await setUp(setup);
    client.send(message);
    expect(await client.closed).toEqual({ code: 1007, reason: GeminiCloseReason.InvalidArgument });
  });

  it('closes 1008 "Requested entity was not found." on a tool response nobody asked for', async () => {
    const client = await setUp();
    client.send({ toolResponse: { functionResponses: [{ id: 'function-call-1', name: 'getStatus', response: { mood: 'happy' } }] } });
    expect(await client.closed).toEqual({ code: 1008, reason: GeminiCloseReason.EntityNotFound });
  });

  it('sends transcriptions only when setup enabled them', async () => {
    const plainAudio = await setUp();
    plainAudio.send({ realtimeInput: { audio: { data: HELLO_PCM.toString('base64'), mimeType: 'audio/pcm;rate=16000' } } });
    await plainAudio.until((frames) => frames.some((f) => (f.json.serverContent as { turnComplete?: boolean })?.turnComplete));
    expect(plainAudio.keys()).not.toContain('inputTranscription');
    expect(plainAudio.keys()).not.toContain('outputTranscription');
    expect(plainAudio.keys().slice(-2)).toEqual(['generationComplete', 'turnComplete']);

    const transcribed = await setUp({ inputAudioTranscription: {}, outputAudioTranscription: {} });
    transcribed.send({ realtimeInput: { audio: { data: HELLO_PCM.toString('base64'), mimeType: 'audio/pcm;rate=16000' } } });
    await transcribed.until((frames) => frames.some((f) => (f.json.serverContent as { turnComplete?: boolean })?.turnComplete));
    const text = (kind: string) =>
      transcribed.frames.flatMap((f) => {
        const piece = (f.json.serverContent as Record<string, { text?: string }> | undefined)?.[kind]?.text;
        return piece ? [piece] : [];
      });
    expect(text('inputTranscription').join('')).toBe('Hello, are you there?');
    // The recording's text reply, now spoken: its words as the output transcript.
    expect(text('outputTranscription').join('')).toBe('Yes, I can hear you clearly. How may I assist you?');
    const usage = transcribed.frames.at(-1)!.json.usageMetadata as Record<string, unknown>;
    expect(usage).toMatchObject({ promptTokensDetails: [{ modality: 'AUDIO' }], responseTokensDetails: [{ modality: 'AUDIO' }] });
  });

  it('barge-in with manual turns: activityStart during a model turn → interrupted, then turnComplete', async () => {
    fake.frameIntervalMs = 20;
    try {
      const client = await setUp({ realtimeInputConfig: { automaticActivityDetection: { disabled: true } } });
      client.send({ realtimeInput: { activityStart: {} } });
      client.send({ realtimeInput: { text: 'Are you there Gemini?' } });
      client.send({ realtimeInput: { activityEnd: {} } });
      await client.until((frames) => frames.some((f) => (f.json.serverContent as { modelTurn?: unknown })?.modelTurn));
      client.send({ realtimeInput: { activityStart: {} } });
      await client.until((frames) => frames.some((f) => (f.json.serverContent as { turnComplete?: boolean })?.turnComplete));
      expect(client.keys().slice(-2)).toEqual(['interrupted', 'turnComplete']);
      expect(client.keys()).not.toContain('generationComplete');
    } finally {
      fake.frameIntervalMs = 2;
    }
  });

  it('scripts goAway, then the close', async () => {
    const client = await setUp();
    fake.last.goAway('10s');
    await client.until((frames) => frames.length === 2);
    expect(client.frames[1].json).toEqual({ goAway: { timeLeft: '10s' } });
    fake.last.closeWith(1011, GeminiCloseReason.DeadlineExpired);
    expect(await client.closed).toEqual({ code: 1011, reason: GeminiCloseReason.DeadlineExpired });
  });

  it('session resumption: a handle after setupComplete; a setup with that handle resumes, an unknown handle is refused', async () => {
    const setUpResumable = async (sessionResumption: object): Promise<RawClient> => {
      const client = await open();
      client.send({ setup: { model: 'models/gemini-3.1-flash-live-preview', sessionResumption } });
      await client.until((frames) => frames.length >= 2);
      return client;
    };
    const first = await setUpResumable({});
    const handle = (first.frames[1].json as { sessionResumptionUpdate: { newHandle: string; resumable: boolean } }).sessionResumptionUpdate;
    expect(handle).toEqual({ newHandle: expect.stringMatching(/^fake-handle-/), resumable: true });
    const firstSession = fake.last;

    const resumed = await setUpResumable({ handle: handle.newHandle });
    expect(resumed.frames[0].json).toEqual({ setupComplete: {} });
    expect(fake.last.resumedFrom).toEqual({ session: firstSession, handle: handle.newHandle });

    const refused = await open();
    refused.send({ setup: { model: 'models/gemini-3.1-flash-live-preview', sessionResumption: { handle: 'never-issued' } } });
    expect(await refused.closed).toEqual({ code: 1008, reason: GeminiCloseReason.EntityNotFound });
  });
});
