// OpenAiProvider.open() directly against the OpenAI fake (no gateway): sample-rate adaptation for
// catalogue entries that do not use 24 kHz, the connect deadline, the abort signal, and the
// shared usage normalization.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ModelDefinition, ServerEvent, UpstreamEnd } from '../../src/index.js';
import { OpenAiProvider } from '../../src/providers/openai/index.js';
import { normalizeUsage, toTurnDetection } from '../../src/providers/openai/index.js';
import { startOpenAiFake, type OpenAiFake } from '../fakes/openai-fake.js';
import { eventually } from '../helpers/ws-client.js';
import { helloWorld } from './openai-compatible.support.js';

const MODEL: ModelDefinition = { id: 'openai/gpt-realtime-2', realtime: true, inputSampleRate: 24000, outputSampleRate: 24000, defaultVoice: 'marin' };

function params(model: ModelDefinition, signal = new AbortController().signal) {
  const events: ServerEvent[] = [];
  const ends: UpstreamEnd[] = [];
  return {
    events,
    ends,
    params: {
      sessionId: 'sess_test',
      projectId: 'proj_a',
      config: { model: model.id, turn_detection: { type: 'none' as const } },
      model,
      signal,
      handlers: { onEvent: (e: ServerEvent) => events.push(e), onEnd: (e: UpstreamEnd) => ends.push(e) },
    },
  };
}

describe('OpenAiProvider.open', () => {
  let fake: OpenAiFake;
  beforeAll(async () => {
    fake = await startOpenAiFake();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('signals drained once audio that queued up was written (the last signal sees an empty buffer), and stops once the gateway closed it', async () => {
    const { params: p } = params(MODEL);
    const seen: number[] = [];
    const session = await new OpenAiProvider({ apiKey: 'sk-test', baseUrl: fake.httpUrl }).open({
      ...p,
      handlers: { ...p.handlers, onDrain: () => seen.push(session.bufferedAmount) },
    });
    seen.length = 0;
    // The provider stops reading: once the kernel's buffers are full, audio queues in the gateway.
    fake.last.ws.pause();
    const frame = Buffer.alloc(4800).toString('base64');
    for (let i = 0; i < 5000 && session.bufferedAmount === 0; i++) {
      session.send({ type: 'audio.append', audio: frame });
      if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    for (let i = 0; i < 50; i++) session.send({ type: 'audio.append', audio: frame });
    expect(session.bufferedAmount).toBeGreaterThan(0);
    expect(seen).toEqual([]);
    fake.last.ws.resume();
    await eventually(() => seen.length > 0 && seen.at(-1) === 0, 'a drained signal with nothing left queued');
    expect(session.bufferedAmount).toBe(0);
    session.close();
    const afterClose = seen.length;
    session.send({ type: 'audio.append', audio: frame });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen.length).toBe(afterClose);
  });

  it('announces the catalogue rates and resamples to and from the 24 kHz wire', async () => {
    const model: ModelDefinition = { ...MODEL, inputSampleRate: 16000, outputSampleRate: 16000 };
    const { params: p, events } = params(model);
    const session = await new OpenAiProvider({ apiKey: 'sk-test', baseUrl: fake.httpUrl }).open(p);
    try {
      expect([session.inputSampleRate, session.outputSampleRate]).toEqual([16000, 16000]);
      expect(fake.last.ofType('session.update')[0].session.audio.output).toEqual({ format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin' });
      const pcm16k = helloWorld().pcm.subarray(0, 32000); // 1 s at 16 kHz
      session.send({ type: 'audio.append', audio: pcm16k.toString('base64') });
      session.send({ type: 'audio.commit' });
      session.send({ type: 'response.create' });
      await eventually(() => events.some((e) => e.type === 'response.completed'), 'the response');
      const sent = Buffer.from(fake.last.ofType('input_audio_buffer.append')[0].audio, 'base64');
      expect(sent.length).toBe(48000); // 1 s at 24 kHz
      const out = Buffer.concat(events.filter((e) => e.type === 'audio.delta').map((e) => Buffer.from((e as { audio: string }).audio, 'base64')));
      expect(Math.abs(out.length - 32000)).toBeLessThanOrEqual(2 * 10); // back to 16 kHz (per-delta rounding)
    } finally {
      session.close();
    }
  });

  it('rejects when the provider never confirms the session within connectTimeoutMs', async () => {
    const silent = await startOpenAiFake({ ignoreSessionUpdate: true });
    try {
      const { params: p } = params(MODEL);
      const started = Date.now();
      await expect(new OpenAiProvider({ apiKey: 'sk-test', baseUrl: silent.httpUrl, connectTimeoutMs: 300 }).open(p)).rejects.toThrow('did not confirm the session in time');
      expect(Date.now() - started).toBeLessThan(2000);
      await silent.last.closed;
    } finally {
      await silent.close();
    }
  });

  it('rejects, and leaves no socket behind, when the client leaves while connecting', async () => {
    const silent = await startOpenAiFake({ ignoreSessionUpdate: true });
    try {
      const abort = new AbortController();
      const { params: p } = params(MODEL, abort.signal);
      const opening = new OpenAiProvider({ apiKey: 'sk-test', baseUrl: silent.httpUrl }).open(p);
      const conn = await silent.connection(0);
      abort.abort();
      await expect(opening).rejects.toThrow('abandoned');
      await conn.closed;
    } finally {
      await silent.close();
    }
  });

  it('requires an API key', () => {
    expect(() => new OpenAiProvider({ apiKey: '' })).toThrow('API key');
  });
});

describe('shared GA mapping helpers', () => {
  it('normalizes usage to numbers and *_details objects, or nothing', () => {
    expect(normalizeUsage(undefined)).toBeUndefined();
    expect(normalizeUsage({})).toBeUndefined();
    expect(
      normalizeUsage({
        total_tokens: 10,
        type: 'tokens',
        input_token_details: { audio_tokens: 4, cached_tokens_details: { audio_tokens: 1 }, note: 'x' },
        output_audio_seconds: 1.5,
        nested: { a: 1 },
      }),
    ).toEqual({ total_tokens: 10, input_token_details: { audio_tokens: 4, cached_tokens_details: { audio_tokens: 1 } }, output_audio_seconds: 1.5 });
  });

  it('maps turn_detection: none → null, semantic_vad without server-VAD knobs, zero values dropped', () => {
    expect(toTurnDetection({ type: 'none' })).toBeNull();
    expect(toTurnDetection({ type: 'semantic_vad', threshold: 0.4 })).toEqual({ type: 'semantic_vad' });
    expect(toTurnDetection({ type: 'server_vad', threshold: 0, silence_duration_ms: 400 })).toEqual({ type: 'server_vad', silence_duration_ms: 400 });
  });
});
