// The `openai` provider: OpenAI Realtime API (GA) over WebSocket (docs/providers.md §1).
// `wss://api.openai.com/v1/realtime?model=<name>`, `Authorization: Bearer <key>`, no `OpenAI-Beta`
// header (GA rejects it). Ready once `session.updated` confirms the session.
import { configFieldsExcept } from '../../session-config/session-config.js';
import { connectUpstream } from '../core/connect.js';
import { upstreamModelName } from '../core/model-name.js';
import { toWebSocketBase } from '../core/upstream-socket.js';
import type { UpstreamTarget } from '../core/upstream-target.js';
import { defineProvider, PluginProvider, type ProviderConnection, type ProviderCredentials } from '../provider-plugin.js';
import { OpenAiRealtimeSession } from './openai-realtime-session.js';
import { OPENAI_DIALECT } from './openai-dialect.js';

const OPENAI_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', 'cedar'];

/**
 * What the GA session takes: `temperature` has no place in it, and the adapter sends no target
 * language, so both are refused rather than dropped.
 */
const OPENAI_HONOURED_FIELDS = configFieldsExcept('temperature', 'translation_target_language');

/** docs/providers.md §1: `session_expired` after 60 minutes. */
const OPENAI_SESSION_LIMIT_SECONDS = 3600;

/** What an OpenAI session connects to (and what a warm upstream is opened with). */
function openAiTarget(modelId: string, connection: ProviderConnection): UpstreamTarget {
  return { url: openAiRealtimeUrl(connection.baseUrl, modelId), headers: { Authorization: `Bearer ${connection.apiKey}` } };
}

/** The WebSocket URL of a model (`openai/gpt-realtime-2` → `…/realtime?model=gpt-realtime-2`). */
export function openAiRealtimeUrl(baseUrl: string, modelId: string): string {
  return `${toWebSocketBase(baseUrl)}/realtime?model=${encodeURIComponent(upstreamModelName(modelId))}`;
}

export const openaiProvider = defineProvider({
  name: 'openai',
  label: 'OpenAI Realtime (GA)',
  access: { kind: 'api-key', envPrefix: 'OPENAI', defaultBaseUrl: 'https://api.openai.com/v1' },
  models: [
    {
      id: 'openai/gpt-realtime-2',
      realtime: true,
      inputSampleRate: 24000,
      outputSampleRate: 24000,
      voices: OPENAI_VOICES,
      defaultVoice: 'marin',
      reasoningEffort: true,
      honouredFields: OPENAI_HONOURED_FIELDS,
      sessionLimitSeconds: OPENAI_SESSION_LIMIT_SECONDS,
    },
    {
      id: 'openai/gpt-realtime-translate',
      realtime: true,
      inputSampleRate: 24000,
      outputSampleRate: 24000,
      translation: true,
      honouredFields: OPENAI_HONOURED_FIELDS,
      sessionLimitSeconds: OPENAI_SESSION_LIMIT_SECONDS,
    },
    // Known ids that are not realtime models (so "not a realtime model" is a real answer).
    { id: 'openai/gpt-4o', realtime: false },
    { id: 'openai/gpt-4.1', realtime: false },
    { id: 'openai/gpt-5', realtime: false },
  ],
  warmTarget: (model, connection) => openAiTarget(model.id, connection),
  open: (params, connection) =>
    connectUpstream(
      params,
      { ...openAiTarget(params.model.id, connection), connectTimeoutMs: connection.connectTimeoutMs },
      (ws) => new OpenAiRealtimeSession(ws, params.handlers, params.config, params.model, OPENAI_DIALECT),
      (session) => session.start(),
    ),
});

/** The `openai` provider with its credentials, for the `providers` option. */
export class OpenAiProvider extends PluginProvider {
  constructor(credentials: ProviderCredentials) {
    super(openaiProvider, credentials);
  }
}
