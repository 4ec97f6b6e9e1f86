// No silent drops, on the wire: for every realtime model of every network provider and every field
// of the catalogue (docs/protocol.md §4), a non-zero value is either refused at session.start (an
// `error` event naming the field) or found in what the provider's fake received. A field a model
// declares as honoured that never reaches the wire fails here.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GeminiProvider } from '../../src/providers/gemini/gemini.provider.js';
import { OpenAiProvider } from '../../src/providers/openai/openai.provider.js';
import { XaiProvider } from '../../src/providers/xai/xai.provider.js';
import { BUILT_IN_MODELS } from '../../src/providers/built-in-providers.js';
import type { ModelDefinition } from '../../src/session-config/model-catalogue.js';
import { SESSION_CONFIG_FIELDS, type SessionConfigField } from '../../src/session-config/session-config.js';
import { GeminiFake } from '../fakes/gemini-fake.js';
import { startOpenAiFake, type OpenAiFake } from '../fakes/openai-fake.js';
import { startXaiFake, type XaiFake } from '../fakes/xai-fake.js';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { startRealtimeApp } from '../helpers/realtime-app.js';
import { closeAll, openWithTicket, type RealtimeTestClient } from '../helpers/ws-client.js';

type Wire = 'openai' | 'xai' | 'gemini';

/** A non-zero value of each field, and what it must look like in the provider's first config message. */
function sample(field: SessionConfigField, model: ModelDefinition, wire: Wire): { value: unknown; marker: string | undefined; with?: Record<string, unknown> } {
  switch (field) {
    case 'instructions':
      return { value: 'WIRE-CHECK: answer in haiku', marker: 'WIRE-CHECK: answer in haiku' };
    case 'voice': {
      const voice = model.voices?.find((v) => v !== model.defaultVoice) ?? 'marin';
      return { value: voice, marker: `"${voice}"` };
    }
    case 'modalities':
      // Gemini answers in one modality; `text` next to `audio` turns on its output transcription.
      if (wire === 'gemini') return { value: ['audio', 'text'], marker: '"outputAudioTranscription":{}' };
      return { value: ['text'], marker: wire === 'openai' ? '"output_modalities":["text"]' : '"modalities":["text"]' };
    case 'temperature':
      return { value: 0.37, marker: '"temperature":0.37' };
    case 'reasoning_effort':
      return { value: 'high', marker: '"effort":"high"' };
    case 'input_audio_format':
    case 'output_audio_format':
      // pcm16 is the only value; Gemini has no format field (PCM is its only format).
      return { value: 'pcm16', marker: wire === 'gemini' ? undefined : '"audio/pcm"' };
    case 'input_transcription':
      return { value: true, marker: wire === 'gemini' ? '"inputAudioTranscription":{}' : '"transcription":{"model"' };
    case 'input_transcription_model':
      // Which model transcribes: it means something only with transcription on.
      return { value: 'gpt-4o-mini-transcribe', marker: '"gpt-4o-mini-transcribe"', with: { input_transcription: true } };
    case 'output_transcription':
      // OpenAI and xAI always transcribe their answer; the adapter relays it only when asked
      // (openai.e2e-spec.ts / xai.e2e-spec.ts check that relay). Gemini must be asked.
      return { value: true, marker: wire === 'gemini' ? '"outputAudioTranscription":{}' : undefined };
    case 'turn_detection':
      return { value: { type: 'server_vad', silence_duration_ms: 777 }, marker: '777' };
    case 'tools':
      return { value: [{ name: 'wire_check_tool', description: 'checks the wire' }], marker: 'wire_check_tool' };
    case 'translation_target_language':
      return { value: 'de', marker: '"targetLanguageCode":"de"' };
    case 'model':
      return { value: model.id, marker: undefined };
  }
}

const MODELS = BUILT_IN_MODELS.filter((model) => model.realtime && !model.id.startsWith('loopback/'));
const CASES = MODELS.flatMap((model) => SESSION_CONFIG_FIELDS.filter((field) => field !== 'model').map((field) => [model.id, field] as const));

describe.each(PLATFORMS)('every catalogue field on every provider (%s)', (platform) => {
  let openai: OpenAiFake;
  let xai: XaiFake;
  let gemini: GeminiFake;
  let app: HttpApp;
  const clients: RealtimeTestClient[] = [];

  beforeAll(async () => {
    [openai, xai, gemini] = await Promise.all([startOpenAiFake(), startXaiFake(), GeminiFake.start()]);
    app = await startRealtimeApp(platform, {
      providers: [
        new OpenAiProvider({ apiKey: 'sk-test', baseUrl: openai.httpUrl }),
        new XaiProvider({ apiKey: 'xai-test', baseUrl: xai.httpUrl }),
        new GeminiProvider({ apiKey: 'test-key', baseUrl: gemini.httpUrl }),
      ],
    });
  });
  afterAll(async () => {
    await closeAll(clients);
    await app.close();
    await Promise.all([openai.close(), xai.close(), gemini.close()]);
  });

  /** The first config message the provider received for the next session, as JSON. */
  async function startAndCaptureWire(wire: Wire, config: Record<string, unknown>): Promise<{ client: RealtimeTestClient; wireJson: () => Promise<string> }> {
    const client = await openWithTicket(app.baseUrl, {});
    clients.push(client);
    if (wire === 'gemini') {
      const upstream = gemini.nextSession();
      client.send({ type: 'session.start', config });
      return { client, wireJson: async () => JSON.stringify((await upstream).received[0]) };
    }
    const fake = wire === 'openai' ? openai : xai;
    const index = fake.connections.length;
    client.send({ type: 'session.start', config });
    return { client, wireJson: async () => JSON.stringify((await fake.connection(index)).ofType('session.update')[0]) };
  }

  it.each(CASES)('%s × %s: honoured on the wire, or refused naming the field', async (modelId, field) => {
    const model = MODELS.find((m) => m.id === modelId)!;
    const wire = modelId.split('/')[0] as Wire;
    const { value, marker, with: companion } = sample(field, model, wire);
    const { client, wireJson } = await startAndCaptureWire(wire, { model: modelId, ...companion, [field]: value });
    const first = await Promise.race([client.next('session.started').then(() => undefined), client.nextError()]);
    if (first) {
      // Refused: by the honoured-fields declaration, or by a capability check that comes first.
      expect(['unsupported_by_provider', 'unsupported_reasoning_effort', 'unsupported_voice']).toContain(first.error.code);
      expect(first.error.message).toContain(field);
      const honoured = model.honouredFields!.includes(field) && !(field === 'reasoning_effort' && !model.reasoningEffort) && !(field === 'voice' && !model.voices?.length);
      expect(honoured).toBe(false);
      return;
    }
    expect(model.honouredFields).toContain(field);
    const json = await wireJson();
    if (marker !== undefined) expect(json).toContain(marker);
    else expect(json.length).toBeGreaterThan(2);
  });
});
