// The request id that follows a request (and a WebSocket connection, from its upgrade request to
// its session-end line): the caller's `x-request-id` when it is a sane token, else a new UUID.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

const SANE_ID = /^[A-Za-z0-9._:@\-]{1,128}$/;

/** The incoming `x-request-id` when it is 1–128 safe characters, else a fresh UUID. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const incoming = headers[REQUEST_ID_HEADER];
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  return typeof value === 'string' && SANE_ID.test(value) ? value : randomUUID();
}

/** FastifyAdapter options that give requests the same ids (`new FastifyAdapter(fastifyRequestIdOptions())`). */
export function fastifyRequestIdOptions(): { genReqId: (req: { headers: IncomingHttpHeaders }) => string } {
  return { genReqId: (req) => requestIdOf(req.headers) };
}
