// docs/protocol.md §1 + §4, validation at mint: locked_fields, config types, unknown keys, the model
// catalogue and model capabilities. Every refusal names the offending field.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { expectError, expectMinted, request } from '../helpers/mint-client.js';
import { FULL_OPENAI_CONFIG, RUNTIME_KEY, startRealtimeApp, withRealtimeApp } from '../helpers/realtime-app.js';
import { RealtimeProvider } from '../../src/index.js';

const key = RUNTIME_KEY.key;

/** A provider for the `acme/` prefix; minting only needs it to exist. */
class AcmeProvider extends RealtimeProvider {
  readonly name = 'acme';
  open(): Promise<never> {
    return Promise.reject(new Error('not used at mint'));
  }
}

describe.each(PLATFORMS)('mint validation (%s)', (platform) => {
  let app: HttpApp;
  beforeAll(async () => {
    app = await startRealtimeApp(platform);
  });
  afterAll(() => app.close());

  const mint = (json: unknown) => request(app.baseUrl, { apiKey: key, json });

  describe('locked_fields', () => {
    it('an unknown name → 400 whose message names it', async () => {
      const error = expectError(await mint({ locked_fields: ['voice', 'instructionz'] }), 400, 'invalid_locked_field');
      expect(error.message).toContain('instructionz');
    });

    it('a valid list without config → 200', async () => {
      expectMinted(await mint({ locked_fields: ['instructions', 'tools', 'voice'] }));
    });

    it('an empty list → 200', async () => {
      expectMinted(await mint({ locked_fields: [] }));
    });

    it.each([
      ['a string', 'voice'],
      ['an object', { voice: true }],
      ['a number', 1],
    ])('not an array (%s) → 400 naming locked_fields', async (_label, lockedFields) => {
      const error = expectError(await mint({ locked_fields: lockedFields }), 400);
      expect(error.message).toContain('locked_fields');
    });

    it('a non-string entry → 400', async () => {
      const error = expectError(await mint({ locked_fields: ['voice', 7] }), 400);
      expect(error.message).toContain('locked_fields');
    });
  });

  describe('config types and names', () => {
    it('an unknown config key → 400 unknown_field naming it', async () => {
      const error = expectError(await mint({ config: { model: 'openai/gpt-realtime-2', voise: 'marin' } }), 400, 'unknown_field');
      expect(error.message).toContain('voise');
    });

    it('an unknown key inside turn_detection → 400 unknown_field naming it', async () => {
      const error = expectError(await mint({ config: { turn_detection: { type: 'server_vad', treshold: 0.5 } } }), 400, 'unknown_field');
      expect(error.message).toContain('treshold');
    });

    it('an unknown top-level key → 400 unknown_field naming it', async () => {
      const error = expectError(await mint({ ttl: 60 }), 400, 'unknown_field');
      expect(error.message).toContain('ttl');
    });

    it.each([
      ['__proto__', '{"config":{"__proto__":{"model":"openai/gpt-realtime-2","temperature":"hot"}}}'],
      ['constructor', '{"config":{"constructor":{"model":"openai/gpt-realtime-2"}}}'],
    ])('a config key named %s is refused, not bound', async (name, body) => {
      // Fastify's JSON parser already refuses __proto__ keys (invalid_json); Express hands them on.
      const result = await request(app.baseUrl, { apiKey: key, body, contentType: 'application/json' });
      const error = expectError(result, 400, ['unknown_field', 'invalid_json']);
      if (error.code === 'unknown_field') expect(error.message).toContain(name);
    });

    it.each([
      ['temperature', { temperature: 'hot' }],
      ['temperature', { temperature: 3 }],
      ['modalities', { modalities: 'audio' }],
      ['modalities', { modalities: ['audio', 'video'] }],
      ['tools', { tools: { name: 'x' } }],
      ['tools', { tools: [{ description: 'a tool without a name' }] }],
      ['voice', { voice: 42 }],
      ['instructions', { instructions: ['not', 'a', 'string'] }],
      ['input_transcription', { input_transcription: 'yes' }],
      ['reasoning_effort', { reasoning_effort: 'extreme' }],
      ['input_audio_format', { input_audio_format: 'mp3' }],
      ['turn_detection', { turn_detection: 'server_vad' }],
      ['turn_detection.type', { turn_detection: { type: 'loud_vad' } }],
      ['translation_target_language', { translation_target_language: 'not a tag!' }],
    ])('a wrong type or value of %s → 400 naming it', async (field, config) => {
      const error = expectError(await mint({ config }), 400, 'invalid_field');
      expect(error.message).toContain(field);
    });

    it('config that is not an object → 400 naming config', async () => {
      const error = expectError(await mint({ config: ['model'] }), 400);
      expect(error.message).toContain('config');
    });

    it('zero values are accepted for every field', async () => {
      expectMinted(
        await mint({
          config: { model: '', instructions: null, voice: '', modalities: [], temperature: 0, input_transcription: false, tools: [], turn_detection: {} },
        }),
      );
    });
  });

  describe('model catalogue and capabilities (bound model)', () => {
    it('an unknown model → 400 unknown_model', async () => {
      const error = expectError(await mint({ config: { model: 'openai/gpt-realtime-9000' } }), 400, 'unknown_model');
      expect(error.message).toContain('openai/gpt-realtime-9000');
    });

    it('a known non-realtime model → 400 not_realtime_model', async () => {
      const error = expectError(await mint({ config: { model: 'openai/gpt-4o' } }), 400, 'not_realtime_model');
      expect(error.message).toContain('not a realtime model');
    });

    it('a voice the bound model lacks → 400 unsupported_voice', async () => {
      const error = expectError(await mint({ config: { model: 'openai/gpt-realtime-2', voice: 'ara' } }), 400, 'unsupported_voice');
      expect(error.message).toContain('ara');
    });

    it('the same voice on a model that has it → 200', async () => {
      expectMinted(await mint({ config: { model: 'xai/grok-voice-latest', voice: 'ara' } }));
    });

    it('reasoning_effort on xai/grok-voice-latest → 400', async () => {
      const error = expectError(await mint({ config: { model: 'xai/grok-voice-latest', reasoning_effort: 'high' } }), 400, 'unsupported_reasoning_effort');
      expect(error.message).toContain('reasoning_effort');
    });

    it('turn_detection semantic_vad on xai → 400, server_vad → 200', async () => {
      const error = expectError(
        await mint({ config: { model: 'xai/grok-voice-latest', turn_detection: { type: 'semantic_vad' } } }),
        400,
        'unsupported_turn_detection',
      );
      expect(error.message).toContain('semantic_vad');
      expectMinted(await mint({ config: { model: 'xai/grok-voice-latest', turn_detection: { type: 'server_vad' } } }));
    });

    it('a valid full config on openai/gpt-realtime-2 → 200', async () => {
      expectMinted(await mint({ config: FULL_OPENAI_CONFIG, locked_fields: ['instructions', 'tools'], ttl_seconds: 30 }));
    });

    it('a bound field the provider cannot honour → 400 unsupported_by_provider naming it, never dropped', async () => {
      const error = expectError(await mint({ config: { model: 'openai/gpt-realtime-2', temperature: 0.7 } }), 400, 'unsupported_by_provider');
      expect(error.details).toEqual({ field: 'temperature' });
      expect(error.message).toContain('temperature');
      expect(expectError(await mint({ config: { model: 'loopback/echo', instructions: 'Be brief.' } }), 400, 'unsupported_by_provider').details).toEqual({
        field: 'instructions',
      });
      expect(
        expectError(await mint({ config: { model: 'gemini/gemini-3.1-flash-live-preview', input_transcription_model: 'whisper-1' } }), 400, 'unsupported_by_provider')
          .details,
      ).toEqual({ field: 'input_transcription_model' });
      // The same field where the provider honours it.
      expectMinted(await mint({ config: { model: 'gemini/gemini-3.1-flash-live-preview', temperature: 0.7 } }));
    });

    it('zero values are unset, never refused as unhonoured', async () => {
      expectMinted(
        await mint({ config: { model: 'loopback/echo', instructions: '', temperature: 0, reasoning_effort: null, input_transcription_model: '', translation_target_language: '' } }),
      );
      expectMinted(await mint({ config: { model: 'openai/gpt-realtime-2', temperature: null, translation_target_language: '' } }));
    });

    it('capabilities are not checked without a bound model (checked at session start)', async () => {
      expectMinted(await mint({ config: { voice: 'ara', reasoning_effort: 'high' } }));
    });
  });

  it('the models option adds a catalogue entry that can then be bound', async () => {
    const custom = { model: 'acme/voice-1', voice: 'robot' };
    expectError(await mint({ config: custom }), 400, 'unknown_model');
    const models = [{ id: 'acme/voice-1', realtime: true, voices: ['robot'], defaultVoice: 'robot' }];
    // In the catalogue but nobody serves it: refused at mint, not later in the browser.
    await withRealtimeApp(platform, { models }, async (other) => {
      expectError(await request(other.baseUrl, { apiKey: key, json: { config: custom } }), 400, 'provider_not_configured');
    });
    await withRealtimeApp(
      platform,
      { models, providers: [new AcmeProvider()] },
      async (other) => {
        expectMinted(await request(other.baseUrl, { apiKey: key, json: { config: custom } }));
        // Its capabilities are enforced like a built-in's.
        expectError(await request(other.baseUrl, { apiKey: key, json: { config: { ...custom, voice: 'marin' } } }), 400, 'unsupported_voice');
        // Built-ins are still there.
        expectMinted(await request(other.baseUrl, { apiKey: key, json: { config: { model: 'openai/gpt-realtime-2' } } }));
      },
    );
  });

  it('the models option can replace a built-in entry', async () => {
    await withRealtimeApp(platform, { models: [{ id: 'openai/gpt-4o', realtime: true }] }, async (other) => {
      expectMinted(await request(other.baseUrl, { apiKey: key, json: { config: { model: 'openai/gpt-4o' } } }));
    });
  });
});
