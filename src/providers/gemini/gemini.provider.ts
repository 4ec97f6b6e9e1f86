// The `gemini` provider: Google's Gemini Live API (BidiGenerateContent over a WebSocket) for
// `gemini/…` models. The server key goes in the URL (`?key=`), so the URL is never put in an error
// message or a log.
import { RealtimeProvider, type OpenUpstreamParams, type UpstreamSession } from '../realtime-provider.js';
import { DEFAULT_BASE_URLS, type ProviderCredentials } from '../shared/provider-credentials.js';
import { openUpstreamSocket, toWebSocketBase } from '../shared/upstream-socket.js';
import { GeminiSession } from './gemini.session.js';

/** Path of the Developer API endpoint (v1beta: what API keys use), after the WebSocket form of the base URL. */
export const GEMINI_LIVE_PATH = '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export class GeminiProvider extends RealtimeProvider {
  readonly name = 'gemini';

  constructor(private readonly credentials: ProviderCredentials) {
    super();
    if (!credentials?.apiKey) throw new Error('GeminiProvider: an API key is required');
  }

  async open(params: OpenUpstreamParams): Promise<UpstreamSession> {
    const timeoutMs = this.credentials.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const base = toWebSocketBase(this.credentials.baseUrl ?? DEFAULT_BASE_URLS.gemini);
    const ws = await openUpstreamSocket({
      url: `${base}${GEMINI_LIVE_PATH}?key=${encodeURIComponent(this.credentials.apiKey)}`,
      signal: params.signal,
      connectTimeoutMs: timeoutMs,
    });
    const session = new GeminiSession(ws, params.handlers, params.config, params.model);
    session.start();
    // Gemini confirms (or refuses, with a close frame) the setup before anything else.
    await session.waitUntilReady(timeoutMs, params.signal);
    return session;
  }
}
