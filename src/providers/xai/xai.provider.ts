// The `xai` provider: xAI Grok Voice Agent API (UPSTREAMS.md §2), OpenAI-GA-compatible on the wire.
// Each session first exchanges the server key for a short-lived client secret
// (`POST <base>/realtime/client_secrets`), then opens `wss://api.x.ai/v1/realtime?model=<name>`
// with that secret as its bearer token. Ready once `session.updated` confirms the session.
import { RealtimeProvider, type OpenUpstreamParams, type UpstreamSession } from '../realtime-provider.js';
import { upstreamModelName } from '../shared/model-name.js';
import { openCompatibleSession } from '../shared/openai-compatible-session.js';
import { DEFAULT_BASE_URLS, type ProviderCredentials } from '../shared/provider-credentials.js';
import { toWebSocketBase, UpstreamConnectError } from '../shared/upstream-socket.js';
import { fetchXaiClientSecret } from './xai-client-secret.js';
import { XaiSession } from './xai.session.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export class XaiProvider extends RealtimeProvider {
  readonly name = 'xai';

  constructor(private readonly credentials: ProviderCredentials) {
    super();
    if (!credentials?.apiKey) throw new Error('XaiProvider: an API key is required');
  }

  private get baseUrl(): string {
    return (this.credentials.baseUrl ?? DEFAULT_BASE_URLS.xai).replace(/\/+$/, '');
  }

  /** The WebSocket URL of a model (`xai/grok-voice-latest` → `…/realtime?model=grok-voice-latest`). */
  realtimeUrl(modelId: string): string {
    return `${toWebSocketBase(this.baseUrl)}/realtime?model=${encodeURIComponent(upstreamModelName(modelId))}`;
  }

  async open(params: OpenUpstreamParams): Promise<UpstreamSession> {
    if (params.signal.aborted) throw new UpstreamConnectError('The session was abandoned before the upstream opened');
    const startedAt = Date.now();
    const connectTimeoutMs = this.credentials.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const secret = await fetchXaiClientSecret({
      baseUrl: this.baseUrl,
      apiKey: this.credentials.apiKey,
      signal: params.signal,
      timeoutMs: connectTimeoutMs,
    });
    return openCompatibleSession(
      params,
      {
        url: this.realtimeUrl(params.model.id),
        headers: { Authorization: `Bearer ${secret.value}` },
        connectTimeoutMs,
        startedAt,
      },
      (ws) => new XaiSession(ws, params.handlers, params.config, params.model),
    );
  }
}
