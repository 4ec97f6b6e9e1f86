// The `xai` provider: xAI Grok Voice Agent API (docs/providers.md §2), OpenAI-GA-compatible on the wire.
// Each session first exchanges the server key for a short-lived client secret
// (`POST <base>/realtime/client_secrets`), then opens `wss://api.x.ai/v1/realtime?model=<name>`
// with that secret as its bearer token. Ready once `session.updated` confirms the session.
import { configFieldsExcept } from '../../session-config/session-config.js';
import { connectUpstream } from '../core/connect.js';
import { throwIfAbandoned } from '../core/upstream-errors.js';
import { openAiRealtimeUrl } from '../openai/openai.provider.js';
import { defineProvider, PluginProvider, type ProviderCredentials } from '../provider-plugin.js';
import { fetchXaiClientSecret } from './xai-client-secret.js';
import { OpenAiRealtimeSession } from '../openai/openai-realtime-session.js';
import { xaiDialect } from './xai-dialect.js';

const XAI_VOICES = ['ara', 'eve', 'leo', 'rex', 'sal'];

export const xaiProvider = defineProvider({
  name: 'xai',
  label: 'xAI Grok Voice',
  access: { kind: 'api-key', envPrefix: 'XAI', defaultBaseUrl: 'https://api.x.ai/v1' },
  models: [
    {
      id: 'xai/grok-voice-latest',
      realtime: true,
      inputSampleRate: 24000,
      outputSampleRate: 24000,
      voices: XAI_VOICES,
      defaultVoice: 'ara',
      turnDetectionTypes: ['server_vad'],
      // The flat xAI session has no `temperature`. xAI always transcribes its answer; the adapter
      // relays that transcript only when `output_transcription` is on, so that field is honoured.
      honouredFields: configFieldsExcept('temperature', 'translation_target_language'),
      // docs/providers.md §2: sessions last at most an hour.
      sessionLimitSeconds: 3600,
    },
    { id: 'xai/grok-4', realtime: false },
  ],
  async open(params, connection) {
    throwIfAbandoned(params.signal);
    const startedAt = Date.now();
    const secret = await fetchXaiClientSecret({
      baseUrl: connection.baseUrl,
      apiKey: connection.apiKey,
      signal: params.signal,
      timeoutMs: connection.connectTimeoutMs,
    });
    return connectUpstream(
      params,
      {
        // The same URL shape as OpenAI's.
        url: openAiRealtimeUrl(connection.baseUrl, params.model.id),
        headers: { Authorization: `Bearer ${secret.value}` },
        connectTimeoutMs: connection.connectTimeoutMs,
        startedAt,
      },
      (ws) => new OpenAiRealtimeSession(ws, params.handlers, params.config, params.model, xaiDialect(params.model)),
      (session) => session.start(),
    );
  },
});

/** The `xai` provider with its credentials, for the `providers` option. */
export class XaiProvider extends PluginProvider {
  constructor(credentials: ProviderCredentials) {
    super(xaiProvider, credentials);
  }
}
