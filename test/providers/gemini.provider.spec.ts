// The Gemini provider through the RealtimeProvider interface, against the Gemini fake (no gateway):
// the setup translation, the mapping of every client event and server message, the close-code
// table, and the decisions where Gemini has no direct equivalent (gemini.session.ts, top comment).
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { endForGeminiClose } from '../../src/providers/gemini/gemini-close.js';
import { buildGeminiSetup } from '../../src/providers/gemini/gemini-setup.js';
import { normalizeGeminiUsage } from '../../src/providers/gemini/gemini-usage.js';
import { GeminiProvider } from '../../src/providers/gemini/gemini.provider.js';
import type { GeminiServerMessage } from '../../src/providers/gemini/gemini-wire.js';
import type { ServerEvent, UpstreamEnd, UpstreamSession } from '../../src/providers/realtime-provider.js';
import { UpstreamConnectError } from '../../src/providers/core/upstream-errors.js';
import { BUILT_IN_MODELS } from '../../src/providers/built-in-providers.js';
import type { ModelDefinition } from '../../src/session-config/model-catalogue.js';
import type { SessionConfig } from '../../src/session-config/session-config.js';
import { GeminiCloseReason, GeminiFake, type GeminiFakeSession } from '../fakes/gemini-fake.js';
import { readRecording } from '../fakes/recording.js';

const MODEL_ID = 'gemini/gemini-3.1-flash-live-preview';
const GEMINI_31 = BUILT_IN_MODELS.find((model) => model.id === MODEL_ID)!;
const TRANSLATE = BUILT_IN_MODELS.find((model) => model.id === 'gemini/gemini-3.5-live-translate-preview')!;
const HELLO_PCM = readFileSync(new URL('../fixtures/audio/hello_are_you_there.16k.pcm', import.meta.url));
/** 100 ms of the speech file where it is loud: what barges in with automatic activity detection. */
const LOUD_PCM = HELLO_PCM.subarray(43400, 46600);

/** What the fake sent about the conversation, without its session-resumption handles (issued after every turn). */
const turnMessages = (upstream: { sent: GeminiServerMessage[] }): GeminiServerMessage[] => upstream.sent.filter((m) => !m.sessionResumptionUpdate);

describe('buildGeminiSetup', () => {
  const setup = (config: SessionConfig, model: ModelDefinition = GEMINI_31) => buildGeminiSetup({ model: model.id, ...config }, model);

  it('defaults: audio replies in the catalogue default voice, nothing else', () => {
    expect(setup({})).toEqual({
      model: 'models/gemini-3.1-flash-live-preview',
      generationConfig: { responseModalities: ['AUDIO'], speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Aoede' } } } },
    });
  });

  it('text only: TEXT replies, no voice and no output transcription (Gemini refuses voices on text)', () => {
    expect(setup({ modalities: ['text'], voice: 'Puck', output_transcription: true })).toEqual({
      model: 'models/gemini-3.1-flash-live-preview',
      generationConfig: { responseModalities: ['TEXT'] },
    });
  });

  it('audio + text modalities: the transcript is the text', () => {
    expect(setup({ modalities: ['audio', 'text'] }).outputAudioTranscription).toEqual({});
    expect(setup({ modalities: ['audio'] }).outputAudioTranscription).toBeUndefined();
  });

  it('turn detection: none disables Gemini\'s activity detection; server_vad passes the timings (no threshold)', () => {
    expect(setup({ turn_detection: { type: 'none' } }).realtimeInputConfig).toEqual({ automaticActivityDetection: { disabled: true } });
    expect(setup({ turn_detection: { type: 'server_vad', threshold: 0.7, prefix_padding_ms: 300, silence_duration_ms: 500 } }).realtimeInputConfig).toEqual({
      automaticActivityDetection: { disabled: false, prefixPaddingMs: 300, silenceDurationMs: 500 },
    });
    expect(setup({ turn_detection: { type: 'semantic_vad' } }).realtimeInputConfig).toEqual({ automaticActivityDetection: { disabled: false } });
  });

  it('temperature, tools (JSON Schema as parametersJsonSchema), translation, reasoning effort', () => {
    const result = setup({ temperature: 0.4, tools: [{ name: 'hang_up' }, { name: 'lookup', description: 'Look up', parameters: { type: 'object' } }] });
    expect(result.generationConfig!.temperature).toBe(0.4);
    expect(result.tools).toEqual([{ functionDeclarations: [{ name: 'hang_up' }, { name: 'lookup', description: 'Look up', parametersJsonSchema: { type: 'object' } }] }]);
    expect(setup({ translation_target_language: 'fr' }, TRANSLATE).generationConfig!.translationConfig).toEqual({ targetLanguageCode: 'fr' });
    expect(setup({ translation_target_language: 'fr' }).generationConfig!.translationConfig).toBeUndefined();
    expect(setup({ reasoning_effort: 'xhigh' }, { ...GEMINI_31, reasoningEffort: true }).generationConfig!.thinkingConfig).toEqual({ thinkingLevel: 'HIGH' });
  });
});

describe('endForGeminiClose: Gemini close → session.terminating', () => {
  it.each([
    [1000, '', false, 'upstream_closed', 1000],
    [1001, '', false, 'upstream_closed', 1000],
    [1007, GeminiCloseReason.InvalidArgument, false, 'upstream_error', 1011],
    [1007, GeminiCloseReason.InvalidArgument, true, 'upstream_error', 1011],
    [1008, 'models/x is not found for API version v1beta', false, 'upstream_error', 1011],
    [1011, GeminiCloseReason.Internal, false, 'upstream_error', 1011],
    [1011, GeminiCloseReason.DeadlineExpired, true, 'upstream_closed', 1000],
    [1013, '', false, 'upstream_error', 1013],
    [1006, '', false, 'upstream_error', 1011],
    [4000, 'odd', false, 'upstream_error', 1011],
  ])('%i "%s" (after goAway: %s) → %s, client close %i', (code, reason, afterGoAway, errorCode, closeCode) => {
    const end = endForGeminiClose(code, reason, afterGoAway);
    expect({ code: end.code, closeCode: end.closeCode }).toEqual({ code: errorCode, closeCode });
    if (reason) expect(end.message).toContain(reason);
    expect(end.message.length).toBeGreaterThan(0);
  });

  it('the reason is the message, with a key scrubbed should one ever appear', () => {
    expect(endForGeminiClose(1007, GeminiCloseReason.InvalidKey, false).message).toBe(GeminiCloseReason.InvalidKey);
    expect(endForGeminiClose(1008, 'bad ws://x/ws?key=secret-key', false).message).not.toContain('secret-key');
  });
});

describe('normalizeGeminiUsage', () => {
  it('maps the recorded usageMetadata to the normalized token names', () => {
    const log = readRecording(new URL('../fixtures/gemini-live/live_ML_Dev_should_send_text_in_async_session.websocket.log', import.meta.url).pathname);
    const recorded = (log.frames.at(-1)!.json as GeminiServerMessage).usageMetadata!;
    expect(normalizeGeminiUsage(recorded)).toEqual({
      input_tokens: 515,
      output_tokens: 38,
      total_tokens: 553,
      input_token_details: { text_tokens: 515 },
      output_token_details: { text_tokens: 38 },
    });
    expect(
      normalizeGeminiUsage({
        promptTokenCount: 548,
        promptTokensDetails: [{ modality: 'TEXT', tokenCount: 306 }, { modality: 'AUDIO', tokenCount: 222 }] as never,
        responseTokenCount: 61,
        thoughtsTokenCount: 100,
        totalTokenCount: 609,
      }),
    ).toEqual({ input_tokens: 548, output_tokens: 61, total_tokens: 609, input_token_details: { text_tokens: 306, audio_tokens: 222 }, reasoning_tokens: 100 });
  });
});

describe('GeminiProvider against the Gemini fake', () => {
  let fake: GeminiFake;
  const open: UpstreamSession[] = [];

  interface Harness {
    session: UpstreamSession;
    events: ServerEvent[];
    ends: UpstreamEnd[];
    upstream: GeminiFakeSession;
  }

  async function connect(config: SessionConfig = {}, model: ModelDefinition = GEMINI_31, credentials = { apiKey: 'test-key', baseUrl: fake.httpUrl }): Promise<Harness> {
    const events: ServerEvent[] = [];
    const ends: UpstreamEnd[] = [];
    const upstream = fake.nextSession();
    const session = await new GeminiProvider(credentials).open({
      sessionId: 'sess_test',
      projectId: 'proj_test',
      config: { model: model.id, ...config },
      model,
      signal: new AbortController().signal,
      handlers: { onEvent: (event) => events.push(event), onEnd: (end) => ends.push(end) },
    });
    open.push(session);
    return { session, events, ends, upstream: await upstream };
  }

  const types = (events: ServerEvent[]) => events.map((event) => event.type);
  const errors = (events: ServerEvent[]) => events.flatMap((event) => (event.type === 'error' ? [event.error.code] : []));
  async function until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 3000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  const append = (session: UpstreamSession, pcm: Buffer) => session.send({ type: 'audio.append', audio: pcm.toString('base64') });

  beforeAll(async () => {
    fake = await GeminiFake.start();
  });
  afterEach(() => {
    fake.frameIntervalMs = 2;
    for (const session of open.splice(0)) session.close();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('reports 16 kHz in / 24 kHz out and is ready only after setupComplete', async () => {
    const { session, upstream } = await connect();
    expect([session.inputSampleRate, session.outputSampleRate]).toEqual([16000, 24000]);
    expect(upstream.sent[0]).toEqual({ setupComplete: {} });
  });

  it('refusals reject open() with Gemini\'s reason and never the key or URL', async () => {
    const refused = async (credentials: { apiKey: string; baseUrl: string }) => {
      const attempt = connect({}, GEMINI_31, credentials);
      await expect(attempt).rejects.toBeInstanceOf(UpstreamConnectError);
      const message = await attempt.then(
        () => '',
        (err: Error) => err.message,
      );
      expect(message).not.toContain(credentials.apiKey);
      expect(message).not.toContain('127.0.0.1');
      return message;
    };
    expect(await refused({ apiKey: 'sk-wrong-key', baseUrl: fake.httpUrl })).toBe(GeminiCloseReason.InvalidKey);
    fake.refusedUpgrades = 0;
    expect(await refused({ apiKey: 'test-key', baseUrl: `${fake.httpUrl}/proxy` })).toBe('The upstream refused the connection (HTTP 404)');
    expect(fake.refusedUpgrades).toBe(1);
  });

  it('an aborted signal stops opening', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      new GeminiProvider({ apiKey: 'test-key', baseUrl: fake.httpUrl }).open({
        sessionId: 's',
        projectId: 'p',
        config: { model: MODEL_ID },
        model: GEMINI_31,
        signal: controller.signal,
        handlers: { onEvent: () => undefined, onEnd: () => undefined },
      }),
    ).rejects.toThrow('abandoned');
  });

  it('requires an API key', () => {
    expect(() => new GeminiProvider({ apiKey: '' })).toThrow('API key');
  });

  it('input errors stay local: odd PCM, empty commit, commit after clear, unknown tool call, a non-data image URL', async () => {
    const { session, events, upstream } = await connect();
    session.send({ type: 'audio.append', audio: Buffer.alloc(3).toString('base64') });
    session.send({ type: 'audio.commit' });
    append(session, Buffer.alloc(320));
    session.send({ type: 'audio.clear' });
    session.send({ type: 'audio.commit' });
    session.send({ type: 'tool.result', tool_call_id: 'function-call-1', tool_result: 1 });
    session.send({ type: 'image.input', image_url: 'https://example.com/cat.jpg' });
    session.send({ type: 'session.update', config: { model: MODEL_ID, voice: 'Puck' }, changed: ['voice'] });
    session.send({ type: 'response.create' });
    expect(errors(events)).toEqual(['invalid_audio', 'input_audio_buffer_empty', 'input_audio_buffer_empty', 'unknown_tool_call', 'invalid_event']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Only the 320 bytes of silence went up (Gemini cannot take back audio it already has).
    expect(upstream.inputs).toEqual([{ realtimeInput: { audio: { data: Buffer.alloc(320).toString('base64'), mimeType: 'audio/pcm;rate=16000' } } }]);
  });

  it('image.input: a data URL becomes realtimeInput.video, its text realtimeInput.text', async () => {
    const { session, upstream } = await connect();
    session.send({ type: 'image.input', image_url: 'data:image/jpeg;base64,/9j/4AAQ', text: 'Are you there Gemini?' });
    await upstream.waitForTurns(1);
    expect(upstream.inputs).toEqual([{ realtimeInput: { video: { data: '/9j/4AAQ', mimeType: 'image/jpeg' } } }, { realtimeInput: { text: 'Are you there Gemini?' } }]);
  });

  it('manual turns: text.input opens an activity, response.create ends it, Gemini answers', async () => {
    const { session, events, upstream } = await connect({ turn_detection: { type: 'none' }, output_transcription: true });
    session.send({ type: 'text.input', text: 'Are you there Gemini?' });
    session.send({ type: 'response.create' });
    await until(() => types(events).includes('response.completed'), 'the response');
    expect(upstream.inputs).toEqual([{ realtimeInput: { activityStart: {} } }, { realtimeInput: { text: 'Are you there Gemini?' } }, { realtimeInput: { activityEnd: {} } }]);
    expect(events.filter((e) => e.type === 'text.delta').map((e) => (e as { delta: string }).delta).join('')).toBe("Yes, I'm here! How can I help you today?");
  });

  it('manual turns: response.cancel sends activityStart, which interrupts Gemini; one response.completed only', async () => {
    const { session, events, upstream } = await connect({ turn_detection: { type: 'none' } });
    fake.frameIntervalMs = 20;
    session.send({ type: 'text.input', text: 'Are you there Gemini?' });
    session.send({ type: 'response.create' });
    await until(() => types(events).includes('audio.delta'), 'audio');
    session.send({ type: 'response.cancel' });
    await upstream.waitForTurns(1);
    expect(upstream.inputs.at(-1)).toEqual({ realtimeInput: { activityStart: {} } });
    expect(turnMessages(upstream).slice(-2)).toEqual([{ serverContent: { interrupted: true } }, { serverContent: { turnComplete: true } }]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(types(events).filter((type) => type === 'response.completed')).toHaveLength(1);
    expect(types(events).at(-1)).toBe('response.completed');
    // The activity the cancel opened takes the next audio, and its commit ends it.
    append(session, HELLO_PCM);
    session.send({ type: 'audio.commit' });
    await upstream.waitForTurns(2);
    expect(upstream.inputs.slice(-2).map((m) => Object.keys(m.realtimeInput!)[0])).toEqual(['audio', 'activityEnd']);
  });

  it('barge-in (Gemini\'s own activity detection): interrupted → response.completed once; pending tool calls are cancelled', async () => {
    const { session, events, upstream } = await connect({ tools: [{ name: 'get_current_weather', parameters: { type: 'object' } }] });
    fake.frameIntervalMs = 20;
    session.send({ type: 'text.input', text: 'what is the weather in Redmond Washington' });
    await until(() => types(events).includes('tool.call'), 'the tool call');
    const call = events.find((e) => e.type === 'tool.call') as Extract<ServerEvent, { type: 'tool.call' }>;
    append(session, LOUD_PCM);
    await upstream.waitForTurns(1);
    expect(turnMessages(upstream).slice(-3).map((m) => Object.keys(m.serverContent ?? m)[0])).toEqual(['toolCallCancellation', 'interrupted', 'turnComplete']);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(types(events)).toEqual(['response.started', 'tool.call', 'response.completed']);
    // Answering a cancelled call would close the session (1008): it is refused locally.
    session.send({ type: 'tool.result', tool_call_id: call.tool_call_id, tool_result: 'sunny' });
    expect(events.at(-1)).toEqual({ type: 'error', error: { code: 'unknown_tool_call', message: `tool.result: Gemini cancelled the tool call "${call.tool_call_id}"` } });
    expect(upstream.inputs.some((m) => m.toolResponse)).toBe(false);
  });

  it('tool.result: a non-object result is wrapped as {result}', async () => {
    const { session, events, upstream } = await connect({ tools: [{ name: 'get_current_weather' }] });
    session.send({ type: 'text.input', text: 'what is the weather in Redmond Washington' });
    await until(() => types(events).includes('tool.call'), 'the tool call');
    const call = events.find((e) => e.type === 'tool.call') as Extract<ServerEvent, { type: 'tool.call' }>;
    session.send({ type: 'tool.result', tool_call_id: call.tool_call_id, tool_result: 'sunny, 51°F' });
    await upstream.waitForTurns(1);
    expect(upstream.inputs.at(-1)).toEqual({ toolResponse: { functionResponses: [{ id: call.tool_call_id, name: 'get_current_weather', response: { result: 'sunny, 51°F' } }] } });
  });

  it('voiceActivity signals become speech.started / speech.stopped', async () => {
    const { events, upstream } = await connect();
    upstream.sendMessage({ voiceActivity: { voiceActivityType: 'ACTIVITY_START' as never } });
    upstream.sendMessage({ voiceActivity: { voiceActivityType: 'ACTIVITY_START' as never } });
    upstream.sendMessage({ voiceActivity: { voiceActivityType: 'ACTIVITY_END' as never } });
    await until(() => events.length === 2, 'speech events');
    expect(types(events)).toEqual(['speech.started', 'speech.stopped']);
  });

  it('pause holds events, resume delivers them in order; close() ends silently', async () => {
    const { session, events, ends, upstream } = await connect({ output_transcription: true });
    session.pause();
    session.send({ type: 'text.input', text: 'Are you there Gemini?' });
    await upstream.waitForTurns(1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(events).toEqual([]);
    session.resume();
    await until(() => types(events).includes('response.completed'), 'the held response');
    expect(types(events)[0]).toBe('response.started');
    session.close();
    expect(await upstream.closed).toEqual({ code: 1000, reason: '', by: 'client' });
    expect(ends).toEqual([]);
  });

  it('resamples Gemini\'s 24 kHz audio when the catalogue announces another output rate', async () => {
    const { session, events, upstream } = await connect({}, { ...GEMINI_31, outputSampleRate: 16000 });
    session.send({ type: 'text.input', text: 'Are you there Gemini?' });
    await until(() => types(events).includes('response.completed'), 'the response');
    const sent = upstream.sent.flatMap((m) => m.serverContent?.modelTurn?.parts?.map((p) => Buffer.from(p.inlineData!.data!, 'base64').length) ?? []);
    const got = events.flatMap((e) => (e.type === 'audio.delta' ? [Buffer.from(e.audio, 'base64').length] : []));
    expect(got).toEqual(sent.map((bytes) => Math.round(bytes / 2 / 1.5) * 2));
  });

  it('reads JSON in text frames too', async () => {
    const { events, upstream } = await connect();
    upstream.sendRaw(JSON.stringify({ serverContent: { modelTurn: { parts: [{ text: 'hi' }] }, turnComplete: true } }));
    await until(() => events.length === 3, 'the response');
    expect(events).toEqual([{ type: 'response.started' }, { type: 'text.delta', delta: 'hi' }, { type: 'response.completed' }]);
  });

  it('an unreadable frame ends the session as an upstream error', async () => {
    const { ends, upstream } = await connect();
    upstream.sendRaw('not json', true);
    await until(() => ends.length === 1, 'the end');
    expect(ends[0]).toMatchObject({ code: 'upstream_error', closeCode: 1011 });
  });
});
