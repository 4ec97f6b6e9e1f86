// Parsing of `Authorization: Bearer <token>` (RFC 6750 token68 syntax).

export type BearerParse =
  | { kind: 'absent' }
  | { kind: 'malformed' }
  | { kind: 'token'; token: string };

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export function parseBearer(header: string | string[] | undefined): BearerParse {
  if (header === undefined || header === '') return { kind: 'absent' };
  if (Array.isArray(header)) return { kind: 'malformed' };
  const match = BEARER.exec(header);
  return match ? { kind: 'token', token: match[1] } : { kind: 'malformed' };
}

/** Management keys are refused before any lookup, so they never reach a key store. */
export const MANAGEMENT_KEY_PREFIX = 'opmak-';
