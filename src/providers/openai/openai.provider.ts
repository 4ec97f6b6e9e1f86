// The `openai` provider: OpenAI Realtime API (GA) over WebSocket (UPSTREAMS.md §1).
// `wss://api.openai.com/v1/realtime?model=<name>`, `Authorization: Bearer <key>`, no `OpenAI-Beta`
// header (GA rejects it). Ready once `session.updated` confirms the session.
import { RealtimeProvider, type OpenUpstreamParams, type UpstreamSession } from '../realtime-provider.js';
import { upstreamModelName } from '../shared/model-name.js';
import { openCompatibleSession } from '../shared/openai-compatible-session.js';
import { DEFAULT_BASE_URLS, type ProviderCredentials } from '../shared/provider-credentials.js';
import { toWebSocketBase } from '../shared/upstream-socket.js';
import { OpenAiSession } from './openai.session.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export class OpenAiProvider extends RealtimeProvider {
  readonly name = 'openai';

  constructor(private readonly credentials: ProviderCredentials) {
    super();
    if (!credentials?.apiKey) throw new Error('OpenAiProvider: an API key is required');
  }

  /** The WebSocket URL of a model (`openai/gpt-realtime-2` → `…/realtime?model=gpt-realtime-2`). */
  realtimeUrl(modelId: string): string {
    const base = toWebSocketBase(this.credentials.baseUrl ?? DEFAULT_BASE_URLS.openai);
    return `${base}/realtime?model=${encodeURIComponent(upstreamModelName(modelId))}`;
  }

  async open(params: OpenUpstreamParams): Promise<UpstreamSession> {
    return openCompatibleSession(
      params,
      {
        url: this.realtimeUrl(params.model.id),
        headers: { Authorization: `Bearer ${this.credentials.apiKey}` },
        connectTimeoutMs: this.credentials.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      },
      (ws) => new OpenAiSession(ws, params.handlers, params.config, params.model),
    );
  }
}
