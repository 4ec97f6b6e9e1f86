// A listening app with only RealtimeSessionsModule.forRoot(options), plus the keys tests use.
import { RealtimeSessionsModule, type RealtimeSessionsModuleOptions, type StaticApiKey } from '../../src/index.js';
import { createHttpApp, withHttpApp, type HttpApp, type Platform } from './http-app.js';

/** A runtime key of project `proj_a`. */
export const RUNTIME_KEY: StaticApiKey = { key: 'rtk-test-runtime-key-a', projectId: 'proj_a', keyId: 'key_a' };

/**
 * A config using every §4 field openai/gpt-realtime-2 honours (all but `temperature` and
 * `translation_target_language`, which it refuses with `unsupported_by_provider`).
 */
export const FULL_OPENAI_CONFIG = {
  model: 'openai/gpt-realtime-2',
  instructions: 'You are a helpful assistant.',
  voice: 'marin',
  modalities: ['audio', 'text'],
  reasoning_effort: 'low',
  input_audio_format: 'pcm16',
  output_audio_format: 'pcm16',
  input_transcription: true,
  input_transcription_model: 'gpt-4o-transcribe',
  output_transcription: true,
  turn_detection: { type: 'semantic_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 },
  tools: [
    { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
    { name: 'hang_up' },
  ],
};

/** Every §4 field set, schema-valid (no one model honours all of them: for the DTO checks). */
export const EVERY_FIELD_CONFIG = { ...FULL_OPENAI_CONFIG, temperature: 0.8, translation_target_language: 'en-US' };

/**
 * Provider keys so tickets for every catalogue model can be minted (minting refuses a model whose
 * provider is not configured). Nothing connects to these addresses unless a session starts.
 */
export const UNREACHABLE_PROVIDERS: Pick<RealtimeSessionsModuleOptions, 'openai' | 'xai' | 'gemini'> = {
  openai: { apiKey: 'sk-test-unused', baseUrl: 'http://127.0.0.1:9' },
  xai: { apiKey: 'xai-test-unused', baseUrl: 'http://127.0.0.1:9' },
  gemini: { apiKey: 'gemini-test-unused', baseUrl: 'http://127.0.0.1:9' },
};

/** The module as tests use it: the test key, every provider keyed, and `loopback/echo` on (off by default in the library). */
export function startRealtimeApp(platform: Platform, options: RealtimeSessionsModuleOptions = {}): Promise<HttpApp> {
  return createHttpApp(platform, RealtimeSessionsModule.forRoot({ apiKeys: [RUNTIME_KEY], ...UNREACHABLE_PROVIDERS, loopback: true, ...options }));
}

/** Runs `fn` against a fresh app and always closes it. */
export function withRealtimeApp<T>(
  platform: Platform,
  options: RealtimeSessionsModuleOptions,
  fn: (app: HttpApp) => Promise<T>,
): Promise<T> {
  return withHttpApp(startRealtimeApp(platform, options), fn);
}
