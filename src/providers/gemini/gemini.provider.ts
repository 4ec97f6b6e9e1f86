// The `gemini` provider: Google's Gemini Live API (BidiGenerateContent over a WebSocket) for
// `gemini/…` models. The server key goes in the URL (`?key=`), so the URL is never put in an error
// message or a log.
import { configFieldsExcept } from '../../session-config/session-config.js';
import { connectUpstream } from '../core/connect.js';
import { toWebSocketBase } from '../core/upstream-socket.js';
import type { UpstreamTarget } from '../core/upstream-target.js';
import { defineProvider, PluginProvider, type ProviderConnection, type ProviderCredentials } from '../provider-plugin.js';
import { GeminiSession } from './gemini.session.js';

/** Path of the Developer API endpoint (v1beta: what API keys use), after the WebSocket form of the base URL. */
export const GEMINI_LIVE_PATH = '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';

const GEMINI_VOICES = ['Puck', 'Charon', 'Kore', 'Fenrir', 'Aoede', 'Leda', 'Orus', 'Zephyr'];

/**
 * What `setup` takes (gemini-setup.ts); formats are PCM16 by contract. Gemini picks its own
 * transcription model; `translationConfig` goes only to translation models.
 */
const GEMINI_HONOURED_FIELDS = configFieldsExcept('input_transcription_model', 'translation_target_language');
const GEMINI_TRANSLATE_HONOURED_FIELDS = configFieldsExcept('input_transcription_model');

/**
 * docs/providers.md §3: a connection lives about 10 min, then `goAway`; the gateway rotates to a
 * new connection resumed with Gemini's session-resumption handle (gateway/upstream-rotation.ts).
 */
const GEMINI_SESSION_LIMIT_SECONDS = 600;

/** What a Gemini session connects to (and what a warm upstream is opened with): the key is in the URL. */
function geminiTarget(connection: ProviderConnection): UpstreamTarget {
  return { url: `${toWebSocketBase(connection.baseUrl)}${GEMINI_LIVE_PATH}?key=${encodeURIComponent(connection.apiKey)}` };
}

export const geminiProvider = defineProvider({
  name: 'gemini',
  label: 'Gemini Live',
  access: { kind: 'api-key', envPrefix: 'GEMINI', defaultBaseUrl: 'https://generativelanguage.googleapis.com' },
  models: [
    {
      id: 'gemini/gemini-3.1-flash-live-preview',
      realtime: true,
      inputSampleRate: 16000,
      outputSampleRate: 24000,
      voices: GEMINI_VOICES,
      defaultVoice: 'Aoede',
      honouredFields: GEMINI_HONOURED_FIELDS,
      // Gemini takes no configuration after `setup`: a change is refused, not ignored.
      updatableFields: [],
      sessionLimitSeconds: GEMINI_SESSION_LIMIT_SECONDS,
    },
    {
      id: 'gemini/gemini-3.5-live-translate-preview',
      realtime: true,
      inputSampleRate: 16000,
      outputSampleRate: 24000,
      translation: true,
      honouredFields: GEMINI_TRANSLATE_HONOURED_FIELDS,
      updatableFields: [],
      sessionLimitSeconds: GEMINI_SESSION_LIMIT_SECONDS,
    },
    { id: 'gemini/gemini-2.5-flash', realtime: false },
    { id: 'gemini/gemini-2.5-pro', realtime: false },
  ],
  // Every model shares one endpoint (the model is named in `setup`), so one pool serves them all.
  warmTarget: (_model, connection) => geminiTarget(connection),
  open: (params, connection) =>
    connectUpstream(
      params,
      { ...geminiTarget(connection), connectTimeoutMs: connection.connectTimeoutMs },
      (ws) => new GeminiSession(ws, params.handlers, params.config, params.model, params.resumptionHandle),
      // Gemini confirms (or refuses, with a close frame) the setup before anything else.
      (session) => session.start(),
    ),
});

/** The `gemini` provider with its credentials, for the `providers` option. */
export class GeminiProvider extends PluginProvider {
  constructor(credentials: ProviderCredentials) {
    super(geminiProvider, credentials);
  }
}
