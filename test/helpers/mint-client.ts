// HTTP client helpers for POST /v3/realtime-sessions and the error-body contract, over real sockets.
import { connect } from 'node:net';
import { expect } from '@jest/globals';

export const SESSIONS_PATH = '/v3/realtime-sessions';

export interface HttpResult {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined when the body is empty or not JSON. */
  json: unknown;
  text: string;
}

export interface MintOptions {
  /** The bearer key; `null` sends no Authorization header. */
  apiKey?: string | null;
  /** A raw Authorization header value (wins over `apiKey`). */
  authorization?: string;
  /** A JSON value to send (as `application/json`). */
  json?: unknown;
  /** A raw body (sent as is; set `contentType` yourself). */
  body?: string;
  contentType?: string;
  method?: string;
  path?: string;
  /** Extra request headers (e.g. `Idempotency-Key`). */
  headers?: Record<string, string>;
}

export async function request(baseUrl: string, options: MintOptions = {}): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  const authorization = options.authorization ?? (options.apiKey ? `Bearer ${options.apiKey}` : undefined);
  if (authorization !== undefined) headers.authorization = authorization;
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  }
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  Object.assign(headers, options.headers);
  const response = await fetch(baseUrl + (options.path ?? SESSIONS_PATH), { method: options.method ?? 'POST', headers, body });
  return toResult(response.status, response.headers, await response.text());
}

function toResult(status: number, headers: Headers, text: string): HttpResult {
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers, json, text };
}

/**
 * Sends a hand-written HTTP/1.1 request over a plain socket, for framings `fetch` cannot produce
 * (no Content-Length and no Transfer-Encoding at all, an empty chunked body, a chosen Host header).
 */
export function rawRequest(baseUrl: string, head: string[], body = ''): Promise<HttpResult> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      try {
        resolve(parseRawResponse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(err);
      }
    });
    const hostHeader = head.some((line) => /^host:/i.test(line)) ? [] : [`Host: ${url.host}`];
    socket.write([...head, ...hostHeader, 'Connection: close', '', ''].join('\r\n') + body);
  });
}

function parseRawResponse(raw: string): HttpResult {
  const split = raw.indexOf('\r\n\r\n');
  const [statusLine, ...headerLines] = raw.slice(0, split).split('\r\n');
  const headers = new Headers();
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let body = raw.slice(split + 4);
  if (headers.get('transfer-encoding') === 'chunked') {
    let decoded = '';
    for (;;) {
      const lineEnd = body.indexOf('\r\n');
      const size = parseInt(body.slice(0, lineEnd), 16);
      if (!size) break;
      decoded += body.slice(lineEnd + 2, lineEnd + 2 + size);
      body = body.slice(lineEnd + 2 + size + 2);
    }
    body = decoded;
  }
  return toResult(Number(statusLine.split(' ')[1]), headers, body);
}

/** `<status> <body>`: asserted as one string so a failure shows the body that came back. */
function describeResult(result: HttpResult): string {
  return `${result.status} ${result.text}`;
}

export interface MintResponse {
  /** The ticket's public id (`rt_…`), additive to Opper's three fields. */
  id: string;
  client_secret: string;
  expires_at: string;
  ws_url: string;
}

/** Asserts a successful mint (200, exactly Opper's three documented keys plus our public `id`) and returns its body. */
export function expectMinted(result: HttpResult): MintResponse {
  expect(describeResult(result)).toMatch(/^200 /);
  expect(result.headers.get('content-type')).toMatch(/^application\/json/);
  const body = result.json as MintResponse;
  expect(Object.keys(body).sort()).toEqual(['client_secret', 'expires_at', 'id', 'ws_url']);
  expect(body.id).toMatch(/^rt_[A-Za-z0-9_-]{22}$/);
  expect(typeof body.client_secret).toBe('string');
  expect(typeof body.expires_at).toBe('string');
  expect(typeof body.ws_url).toBe('string');
  return body;
}

export interface ErrorBodyShape {
  error: { code: string; message: string; details?: unknown };
}

/**
 * Asserts the one error body shape of the API, `{"error":{"code","message","details?"}}` and
 * nothing else, with the given status and code; returns the `error` object.
 */
export function expectError(result: HttpResult, status: number, code?: string | string[]): ErrorBodyShape['error'] {
  expect(describeResult(result)).toMatch(new RegExp(`^${status} `));
  expect(result.headers.get('content-type')).toMatch(/^application\/json/);
  const body = result.json as ErrorBodyShape;
  expect(typeof body).toBe('object');
  expect(Object.keys(body)).toEqual(['error']);
  const keys = Object.keys(body.error).sort();
  expect(keys.filter((key) => key !== 'details')).toEqual(['code', 'message']);
  expect(typeof body.error.code).toBe('string');
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  if (Array.isArray(code)) expect(code).toContain(body.error.code);
  else if (code !== undefined) expect(body.error.code).toBe(code);
  return body.error;
}
