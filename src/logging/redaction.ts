// What never reaches a log line: API keys (Authorization), ticket secrets (the
// `opper-ticket.<secret>` subprotocol, `?ticket=` in any URL, `client_secret`), bound
// instructions, and audio. Structured fields are removed by pino's `redact` paths; URLs and free
// text go through `redactSecrets`, which the logger also applies to every string it is given.

export const REDACTED = '[REDACTED]';

/** Header names whose values are credentials. */
export const SECRET_HEADERS = ['authorization', 'sec-websocket-protocol', 'cookie', 'set-cookie', 'x-api-key', 'proxy-authorization'] as const;

/** Object keys whose values are redacted wherever they appear (up to three levels down). */
export const SECRET_KEYS = ['instructions', 'audio', 'client_secret', 'ticket', 'ws_url'] as const;

/**
 * pino `redact` paths (fast-redact syntax). Headers under `req`, `res` and a bare `headers` object;
 * the secret keys at the top level and one to three levels down (`config.instructions`,
 * `event.audio`, `session.config.instructions`, …).
 */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_HEADERS.flatMap((h) => [`req.headers["${h}"]`, `res.headers["${h}"]`, `headers["${h}"]`]),
  'req.query.ticket',
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]),
];

// `ticket=<value>` in a query string (or anywhere in free text), up to the next separator.
const TICKET_PARAM = /(\bticket=)[^&#\s"'<>]*/gi;
// The subprotocol that carries a ticket: `opper-ticket.<secret>`.
const TICKET_PROTOCOL = /(\bopper-ticket\.)[A-Za-z0-9\-_.~+/=]*/g;
// `Bearer <token>` as in an Authorization header.
const BEARER = /(\bBearer\s+)[A-Za-z0-9\-._~+/]+=*/gi;
// A prefixed runtime or management key on its own (`rtk-…`, `opmak-…`, `sk-…`).
const KEY_LIKE = /\b(rtk|opmak|sk)-[A-Za-z0-9\-_]{8,}/g;

/** Cheap pre-check: most strings contain none of the markers and are returned as they are. */
const MARKERS = /ticket|bearer|rtk-|opmak-|sk-/i;

/** `text` with every ticket, bearer token and key-looking string replaced by `[REDACTED]`. */
export function redactSecrets(text: string): string {
  if (!MARKERS.test(text)) return text;
  return text
    .replace(TICKET_PARAM, `$1${REDACTED}`)
    .replace(TICKET_PROTOCOL, `$1${REDACTED}`)
    .replace(BEARER, `$1${REDACTED}`)
    .replace(KEY_LIKE, REDACTED);
}

/** A URL (or path with query) with the value of any `ticket` parameter replaced by `[REDACTED]`. */
export function redactUrl(url: string): string {
  return /ticket=/i.test(url) ? url.replace(TICKET_PARAM, `$1${REDACTED}`) : url;
}

/** pino-http `req` serializer step: the logged URL without its ticket. */
export function redactRequest<T extends { url?: unknown }>(req: T): T {
  if (req && typeof req.url === 'string') req.url = redactUrl(req.url);
  return req;
}

/** pino `hooks.logMethod`: every string argument (the message, format arguments) goes through redactSecrets. */
export function redactLogArguments(this: unknown, args: unknown[], method: (...args: unknown[]) => void): void {
  for (let i = 0; i < args.length; i += 1) {
    if (typeof args[i] === 'string') args[i] = redactSecrets(args[i] as string);
  }
  method.apply(this, args);
}
