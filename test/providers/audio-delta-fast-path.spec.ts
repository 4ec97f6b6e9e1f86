// The provider → client audio hot paths must decide exactly as the full parser does: a session that
// reads canonical audio frames on their bytes (openai/audio-delta-frame.ts, gemini/gemini-audio-frame.ts)
// emits the same events, in the same order, with the same endings, as one that JSON-parses every
// frame — on canonical frames, on frames that merely look like them, and (Gemini) across the turn
// state the audio moves. Fixed seed in `npm test` (test/abuse/fuzz.ts); `npm run fuzz` explores.
import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import type WebSocket from 'ws';
import { GeminiSession } from '../../src/providers/gemini/gemini.session.js';
import type { InlineAudio } from '../../src/providers/gemini/gemini-audio-frame.js';
import { OPENAI_DIALECT } from '../../src/providers/openai/openai-dialect.js';
import { OpenAiRealtimeSession } from '../../src/providers/openai/openai-realtime-session.js';
import type { ServerEvent, UpstreamEnd, UpstreamHandlers } from '../../src/providers/realtime-provider.js';
import { xaiDialect } from '../../src/providers/xai/xai-dialect.js';
import type { ModelDefinition } from '../../src/session-config/model-catalogue.js';
import { fuzzParameters, fuzzTimeout } from '../abuse/fuzz.js';

const RUNS = 600;

/** Enough of a ws client socket for an adapter: frames arrive through `deliver`. */
class FakeSocket extends EventEmitter {
  readyState = 1;
  bufferedAmount = 0;
  send(): void {}
  close(): void {
    this.readyState = 3;
  }
  terminate(): void {
    this.readyState = 3;
  }
  pause(): void {}
  resume(): void {}
  deliver(frame: Buffer, isBinary = false): void {
    this.emit('message', frame, isBinary);
  }
}

interface Outcome {
  events: ServerEvent[];
  ends: UpstreamEnd[];
}

function recorder(): { handlers: UpstreamHandlers; outcome: Outcome } {
  const outcome: Outcome = { events: [], ends: [] };
  return { outcome, handlers: { onEvent: (event) => outcome.events.push(event), onEnd: (end) => outcome.ends.push(end) } };
}

// ── OpenAI / xAI ──────────────────────────────────────────────────────────────────────────────

class ParsingOpenAiSession extends OpenAiRealtimeSession {
  protected override audioOfFrame(): string | undefined {
    return undefined;
  }
}

let openAiFastHits = 0;
class CountingOpenAiSession extends OpenAiRealtimeSession {
  protected override audioOfFrame(data: Buffer): string | undefined {
    const audio = super.audioOfFrame(data);
    if (audio !== undefined) openAiFastHits += 1;
    return audio;
  }
}

const OPENAI_MODEL: ModelDefinition = { id: 'openai/gpt-realtime-2', realtime: true };
/** The client gets 16 kHz: the fast path's audio is resampled as the parsed one is. */
const OPENAI_16K: ModelDefinition = { id: 'openai/gpt-realtime-2', realtime: true, outputSampleRate: 16000 };
const XAI_MODEL: ModelDefinition = { id: 'xai/grok-voice', realtime: true, inputSampleRate: 24000, outputSampleRate: 24000 };

type OpenAiSetup = 'openai' | 'openai-16k' | 'xai';

function openAiOutcome(setup: OpenAiSetup, frames: Buffer[], fast: boolean): Outcome {
  const { handlers, outcome } = recorder();
  const ws = new FakeSocket();
  const model = setup === 'openai' ? OPENAI_MODEL : setup === 'openai-16k' ? OPENAI_16K : XAI_MODEL;
  const dialect = setup === 'xai' ? xaiDialect(model) : OPENAI_DIALECT;
  const Session = fast ? CountingOpenAiSession : ParsingOpenAiSession;
  new Session(ws as unknown as WebSocket, handlers, {}, model, dialect);
  ws.deliver(Buffer.from('{"type":"session.updated","session":{}}'));
  for (const frame of frames) ws.deliver(frame);
  return outcome;
}

const base64 = fc.uint8Array({ maxLength: 48 }).map((bytes) => Buffer.from(bytes).toString('base64'));
const nearlyBase64 = fc.oneof(
  { weight: 20, arbitrary: base64 },
  base64.map((b) => `${b}=`),
  base64.map((b) => b.replace(/A/g, '"')),
  base64.map((b) => b.replace(/A/g, '\\u0041')),
  base64.map((b) => b.replace(/\//g, '_')),
  base64.map((b) => b.replace(/=/g, '')),
  fc.string({ maxLength: 8 }),
);
const id = fc.stringMatching(/^[a-zA-Z0-9_]{0,10}$/);
const nearlyId = fc.oneof({ weight: 20, arbitrary: id }, id.map((s) => `${s}\\"x`), id.map((s) => `${s}é`), id.map((s) => `${s}\\u0041`), id.map((s) => `${s}\n`));
const index = fc.oneof({ weight: 20, arbitrary: fc.nat(20).map(String) }, fc.constantFrom('01', '-1', '1.5', '1e2', 'null', 'true', '"0"', '{}', '[0]'));
const deltaType = fc.oneof({ weight: 20, arbitrary: fc.constant('response.output_audio.delta') }, fc.constantFrom('response.audio.delta', 'response.output_audio.done', 'response.output_text.delta', 'response.output_audio.delta '));

/** Frames as OpenAI writes them, with every part open to a near miss. */
const canonicalish = fc
  .record({ type: deltaType, eventId: nearlyId, itemId: nearlyId, outputIndex: index, contentIndex: index, delta: nearlyBase64 })
  .map(({ type, eventId, itemId, outputIndex, contentIndex, delta }) =>
    `{"type":"${type}","event_id":"${eventId}","response_id":"resp_1","item_id":"${itemId}","output_index":${outputIndex},"content_index":${contentIndex},"delta":"${delta}"}`,
  );
const reshaped = fc.tuple(base64, fc.constantFrom<Array<(audio: string) => string>>(
  (a) => JSON.stringify({ type: 'response.output_audio.delta', delta: a }, null, 1),
  (a) => JSON.stringify({ delta: a, type: 'response.output_audio.delta' }),
  (a) => `{"type":"response.output_audio.delta","delta":"${a}","type":"response.output_text.delta"}`,
  (a) => `{"type":"response.output_audio.delta","delta":"${a}","delta":"QUFB"}`,
  (a) => `{"type":"response.output_audio.delta","type":"error","delta":"${a}"}`,
  (a) => `{"type":"response.output_audio.delta","delta":"QUFB","delta":"${a}"}`,
  (a) => `{"type":"response.output_audio.delta","x":{"a":1},"delta":"${a}"}`,
  (a) => `{"type":"response.output_audio.delta","delta":"${a}"} `,
  (a) => `{"type":"response.output_audio.delta","delta":"${a}"}}`,
  (a) => `{"type":"response.output_audio.delta","delta":"${a}`,
  (a) => `{"type":"response.output_audio.delta","delta":"}`,
  () => `{"type":"response.output_audio.delta","event_id":"e","delta":"}`,
  (a) => `{"type":"response.output_audio.delta","Delta":"${a}"}`,
  (a) => `{"type":"response.output_audio.delta",,"delta":"${a}"}`,
  (a) => `{"type":"response.output_audio.delta","":1,"delta":"${a}"}`,
  (a) => `\uFEFF{"type":"response.output_audio.delta","delta":"${a}"}`,
)).map(([audio, shape]) => shape(audio));
/** A canonical frame with one byte replaced or cut short. */
const mutated = fc
  .tuple(canonicalish, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean())
  .map(([text, at, byte, cut]) => {
    const frame = Buffer.from(text, 'utf8');
    const where = at % frame.length;
    if (cut) return frame.subarray(0, where);
    frame[where] = byte;
    return frame;
  });
const openAiFrame = fc.oneof(
  { weight: 6, arbitrary: canonicalish.map((t) => Buffer.from(t, 'utf8')) },
  { weight: 2, arbitrary: reshaped.map((t) => Buffer.from(t, 'utf8')) },
  { weight: 3, arbitrary: mutated },
  { weight: 1, arbitrary: fc.string().map((t) => Buffer.from(t, 'utf8')) },
);

describe('OpenAI / xAI audio delta hot path', () => {
  it(
    'emits what the full parser emits, frame by frame',
    () => {
      openAiFastHits = 0;
      fc.assert(
        fc.property(fc.constantFrom<OpenAiSetup>('openai', 'openai-16k', 'xai'), fc.array(openAiFrame, { minLength: 1, maxLength: 4 }), (setup, frames) => {
          expect(openAiOutcome(setup, frames, true)).toEqual(openAiOutcome(setup, frames, false));
        }),
        fuzzParameters(RUNS),
      );
      // The generators reach the fast path often enough for the agreement to mean something.
      if (!process.env.FUZZ_RUNS) expect(openAiFastHits).toBeGreaterThan(RUNS / 4);
    },
    fuzzTimeout(RUNS, 5),
  );

  it('takes the frames OpenAI sends, empty audio included', () => {
    const frame = (delta: string) =>
      Buffer.from(`{"type":"response.output_audio.delta","event_id":"event_CX1","response_id":"resp_CX2","item_id":"item_CX3","output_index":0,"content_index":0,"delta":"${delta}"}`);
    openAiFastHits = 0;
    const outcome = openAiOutcome('openai', [frame('AAEC'), frame('')], true);
    expect(openAiFastHits).toBe(2);
    expect(outcome.events).toEqual([{ type: 'audio.delta', audio: 'AAEC' }]);
  });
});

// ── Gemini ────────────────────────────────────────────────────────────────────────────────────

class ParsingGeminiSession extends GeminiSession {
  protected override inlineAudioOf(): InlineAudio | undefined {
    return undefined;
  }
}

let geminiFastHits = 0;
class CountingGeminiSession extends GeminiSession {
  protected override inlineAudioOf(data: Buffer): InlineAudio | undefined {
    const audio = super.inlineAudioOf(data);
    if (audio) geminiFastHits += 1;
    return audio;
  }
}

const GEMINI_MODEL: ModelDefinition = { id: 'gemini/gemini-live', realtime: true };
const GEMINI_16K: ModelDefinition = { id: 'gemini/gemini-live', realtime: true, outputSampleRate: 16000 };

function geminiOutcome(model: ModelDefinition, frames: Buffer[], fast: boolean): Outcome {
  const { handlers, outcome } = recorder();
  const ws = new FakeSocket();
  const Session = fast ? CountingGeminiSession : ParsingGeminiSession;
  new Session(ws as unknown as WebSocket, handlers, {}, model);
  ws.deliver(Buffer.from('{"setupComplete":{}}'), true);
  for (const frame of frames) ws.deliver(frame, true);
  return outcome;
}

const mime = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('audio/pcm;rate=24000', 'audio/pcm;rate=16000', 'audio/pcm') },
  fc.constantFrom('text/plain', 'audio/pcm;rate=24000 ', 'Audio/pcm', 'audio/pcm;rate=\\u0032', 'audio/', 'audio'),
);
const inlineData = fc.record({ mimeType: mime, data: nearlyBase64 }).chain(({ mimeType, data }) =>
  fc.constantFrom(`{"mimeType":"${mimeType}","data":"${data}"}`, `{"data":"${data}","mimeType":"${mimeType}"}`, `{"data":"${data}"}`, `{"mimeType":"${mimeType}","data":"${data}","data":"QUFB"}`),
);
const part = fc.oneof({ weight: 5, arbitrary: inlineData.map((d) => `{"inlineData":${d}}`) }, fc.constantFrom('{"text":"hi"}', '{"text":"hm","thought":true}', '{}'));
const serverContent = fc
  .tuple(fc.array(part, { minLength: 0, maxLength: 2 }), fc.constantFrom('', ',"turnComplete":true', ',"interrupted":true', ',"outputTranscription":{"text":"hi"}', ',"inputTranscription":{"text":"yo"}'), fc.constantFrom('', ',"role":"model"'))
  .map(([parts, extra, role]) => `{"serverContent":{"modelTurn":{"parts":[${parts.join(',')}]${role}}${extra}}}`);
/** One audio part and nothing else: the message the fast path is for. */
const audioMessage = fc.record({ mimeType: mime, data: nearlyBase64 }).map(({ mimeType, data }) => `{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"${mimeType}","data":"${data}"}}]}}}`);
const geminiMessage = fc.oneof(
  { weight: 8, arbitrary: audioMessage },
  { weight: 6, arbitrary: serverContent },
  fc.constantFrom('{"serverContent":{"turnComplete":true}}', '{"serverContent":{"interrupted":true}}', '{"usageMetadata":{"totalTokenCount":3}}', '{"toolCall":{"functionCalls":[{"id":"c1","name":"f","args":{}}]}}'),
  serverContent.map((s) => s.replace('}}}', '}},"usageMetadata":{"totalTokenCount":5}}')),
);
/** As Gemini writes it (pretty-printed, trailing newline), compact, or with one byte changed / cut. */
const geminiFrame = fc
  .tuple(geminiMessage, fc.constantFrom('pretty', 'compact', 'raw', 'mutated', 'cut', 'trailing'), fc.nat(), fc.integer({ min: 0, max: 255 }))
  .map(([text, form, at, byte]) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return Buffer.from(text, 'utf8');
    }
    if (form === 'pretty') return Buffer.from(`${JSON.stringify(parsed, null, 2)}\n`, 'utf8');
    if (form === 'compact') return Buffer.from(JSON.stringify(parsed), 'utf8');
    const frame = Buffer.from(form === 'raw' ? text : `${JSON.stringify(parsed, null, 2)}\n`, 'utf8');
    if (form === 'cut') return frame.subarray(0, at % frame.length);
    if (form === 'trailing') return Buffer.concat([frame, Buffer.from([byte])]);
    if (form === 'mutated') frame[at % frame.length] = byte;
    return frame;
  });

describe('Gemini audio hot path', () => {
  it(
    'emits what the full parser emits, across turns',
    () => {
      geminiFastHits = 0;
      fc.assert(
        fc.property(fc.constantFrom(GEMINI_MODEL, GEMINI_16K), fc.array(geminiFrame, { minLength: 1, maxLength: 6 }), (model, frames) => {
          expect(geminiOutcome(model, frames, true)).toEqual(geminiOutcome(model, frames, false));
        }),
        fuzzParameters(RUNS),
      );
      if (!process.env.FUZZ_RUNS) expect(geminiFastHits).toBeGreaterThan(RUNS / 4);
    },
    fuzzTimeout(RUNS, 5),
  );

  it('takes the audio messages Gemini sends (pretty-printed)', () => {
    const message = { serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: 'audio/pcm;rate=24000', data: 'AAEC' } }] } } };
    geminiFastHits = 0;
    const outcome = geminiOutcome(GEMINI_MODEL, [Buffer.from(`${JSON.stringify(message, null, 2)}\n`)], true);
    expect(geminiFastHits).toBe(1);
    expect(outcome.events).toEqual([{ type: 'response.started' }, { type: 'audio.delta', audio: 'AAEC' }]);
  });
});
