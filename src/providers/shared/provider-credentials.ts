// How a provider is reached: its server key and base URL (module options, or the standalone
// server's OPENAI_* / XAI_* / GEMINI_* environment).

export interface ProviderCredentials {
  apiKey: string;
  /** HTTP(S) base URL; WebSocket URLs derive from it (http → ws, https → wss). */
  baseUrl?: string;
  /** Connect + session-confirmation timeout. Default 10 s. */
  connectTimeoutMs?: number;
}

export const DEFAULT_BASE_URLS = {
  openai: 'https://api.openai.com/v1',
  xai: 'https://api.x.ai/v1',
  gemini: 'https://generativelanguage.googleapis.com',
} as const;
