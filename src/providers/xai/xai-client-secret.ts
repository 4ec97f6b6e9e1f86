// The client-secret exchange (docs/providers.md §2.1): with its server key the gateway obtains a
// short-lived xAI client secret, and the realtime socket is opened with that secret, so the server
// key never travels on a long-lived connection.
import { UpstreamConnectError } from '../core/upstream-errors.js';
import type { XaiClientSecretRequest, XaiClientSecretResponse } from './xai-wire.js';

/** The secret only has to outlive the connect; xAI allows up to 3600 s. */
export const XAI_CLIENT_SECRET_TTL_SECONDS = 300;

export interface XaiClientSecretOptions {
  /** HTTP(S) base, e.g. `https://api.x.ai/v1`. */
  baseUrl: string;
  apiKey: string;
  signal: AbortSignal;
  timeoutMs: number;
  ttlSeconds?: number;
}

export async function fetchXaiClientSecret(options: XaiClientSecretOptions): Promise<XaiClientSecretResponse> {
  const { baseUrl, apiKey, signal, timeoutMs, ttlSeconds = XAI_CLIENT_SECRET_TTL_SECONDS } = options;
  const body: XaiClientSecretRequest = { expires_after: { seconds: ttlSeconds } };
  let response: Response;
  try {
    response = await fetch(`${baseUrl.replace(/\/+$/, '')}/realtime/client_secrets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, timeoutMs))]),
    });
  } catch (err) {
    if (signal.aborted) throw UpstreamConnectError.abandoned();
    const name = (err as Error)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') throw new UpstreamConnectError('xAI did not issue a client secret in time');
    const cause = (err as { cause?: { code?: string } })?.cause?.code;
    throw new UpstreamConnectError(`xAI could not be reached for a client secret${cause ? ` (${cause})` : ''}`);
  }
  const text = await response.text().catch(() => '');
  if (!response.ok) {
    throw new UpstreamConnectError(`xAI refused the client secret request (HTTP ${response.status})${refusalMessage(text)}`, response.status);
  }
  let parsed: Partial<XaiClientSecretResponse>;
  try {
    parsed = JSON.parse(text) as Partial<XaiClientSecretResponse>;
  } catch {
    throw new UpstreamConnectError('xAI answered the client secret request with something that is not JSON');
  }
  if (typeof parsed?.value !== 'string' || parsed.value === '') {
    throw new UpstreamConnectError('xAI answered the client secret request without a secret');
  }
  return { value: parsed.value, expires_at: typeof parsed.expires_at === 'number' ? parsed.expires_at : 0 };
}

/** xAI refusals look like `{"code":"…","error":"…"}` (or the OpenAI shape): the human part only. */
function refusalMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; code?: unknown };
    const error = body.error;
    const message =
      typeof error === 'string' ? error : typeof (error as { message?: unknown })?.message === 'string' ? (error as { message: string }).message : undefined;
    return message ? `: ${message.slice(0, 200)}` : typeof body.code === 'string' ? `: ${body.code.slice(0, 200)}` : '';
  } catch {
    return '';
  }
}
