// Opening the WebSocket to a provider, once for all adapters: connect timeout, abort when the
// client leaves, and refusals (HTTP status + body) turned into errors whose message is safe to show
// a client (never the URL, which may carry a key).
import WebSocket from 'ws';
import { UpstreamConnectError } from './upstream-errors.js';

export { UpstreamConnectError } from './upstream-errors.js';

export interface UpstreamSocketOptions {
  url: string;
  headers?: Record<string, string>;
  protocols?: string[];
  signal: AbortSignal;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /** Largest upstream frame accepted. Default 32 MiB. */
  maxPayload?: number;
}

/**
 * Resolves with an open socket, paused, or rejects with an UpstreamConnectError. The caller resumes
 * it once its listeners are on: a provider's first frames (OpenAI's `session.created`) can arrive
 * with the 101 and would otherwise be emitted before the promise's continuation runs.
 */
export function openUpstreamSocket(options: UpstreamSocketOptions): Promise<WebSocket> {
  const { url, headers, protocols, signal, connectTimeoutMs = 10_000, maxPayload = 32 * 1024 * 1024 } = options;
  return new Promise<WebSocket>((resolve, reject) => {
    if (signal.aborted) return reject(UpstreamConnectError.abandoned());
    const ws = new WebSocket(url, protocols ?? [], { headers, maxPayload, handshakeTimeout: connectTimeoutMs, perMessageDeflate: false });
    let settled = false;
    const settle = (err: Error | undefined) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      ws.off('error', onError);
      if (err) {
        ws.removeAllListeners('unexpected-response');
        // terminate() on a socket still connecting emits 'error' ("closed before the connection was
        // established") on a later tick: without a listener that would crash the process.
        ws.on('error', () => undefined);
        ws.terminate();
        reject(err);
      } else {
        resolve(ws);
      }
    };
    const onAbort = () => settle(UpstreamConnectError.abandoned());
    const onError = (err: Error) => settle(new UpstreamConnectError(`The upstream could not be reached (${describe(err)})`));
    signal.addEventListener('abort', onAbort, { once: true });
    ws.on('error', onError);
    ws.once('open', () => {
      ws.pause();
      settle(undefined);
    });
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.length < 16 && chunks.push(c));
      res.on('end', () => settle(new UpstreamConnectError(`The upstream refused the connection (HTTP ${res.statusCode})${excerpt(Buffer.concat(chunks))}`, res.statusCode)));
      res.on('error', () => settle(new UpstreamConnectError(`The upstream refused the connection (HTTP ${res.statusCode})`, res.statusCode)));
    });
  });
}

function describe(err: Error & { code?: string }): string {
  return err.code ?? err.message.replace(/[?&](key|access_token)=[^&\s]*/g, '');
}

/** A provider's error message, when its refusal body has one (never the raw body). */
function excerpt(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: { message?: unknown } | string };
    const message = typeof parsed.error === 'string' ? parsed.error : parsed.error?.message;
    return typeof message === 'string' ? `: ${message.slice(0, 200)}` : '';
  } catch {
    return '';
  }
}

/** `https://api.openai.com/v1` → `wss://api.openai.com/v1` (http → ws, https → wss). */
export function toWebSocketBase(httpBaseUrl: string): string {
  return httpBaseUrl.replace(/\/+$/, '').replace(/^http(s?):\/\//i, (_m, s: string) => `ws${s}://`);
}
