// Property: whatever body reaches POST /v3/realtime-sessions (arbitrary JSON and non-JSON, wrong
// types at every field, huge strings and arrays, deep nesting, prototype keys, lone surrogates,
// numbers at the edges, invalid UTF-8, wrong media types), the answer comes within a bound, is one
// of 200/400/401/413/415/503 with the error body for the refusals (docs/protocol.md §1), is a 200
// only for a body the mint rules accept, and leaves Object.prototype as it was.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseMintRequest } from '../../src/issuance/mint-request.js';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { RUNTIME_KEY, startRealtimeApp } from '../helpers/realtime-app.js';
import { SILENT_LOGGER } from '../helpers/redis-server.js';
import { fuzzParameters, fuzzTimeout } from './fuzz.js';

const RUNS = 300;
const ANSWER_WITHIN_MS = 5000;
const ALLOWED = new Set([200, 400, 401, 413, 415, 503]);
const GOOD_CONFIG = { model: 'loopback/echo' };

const anyJson = fc.jsonValue({ maxDepth: 3 });
const evilKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '');
const edgeNumberText = fc.constantFrom('-0', '1e308', '1e309', '-1e309', 'NaN', 'Infinity', '"NaN"', '0.1e-400', '9007199254740993', '-9007199254740993', '1.5');
const weirdString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\ud800', '\udfff', 'a\ud83d', '\u0000', '\u202e', 'x'.repeat(70_000)),
);

/** A value for a mint field: right shape, wrong type, or hostile. */
const fieldValue = fc.oneof(
  anyJson,
  weirdString,
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3000 }),
  fc.dictionary(evilKey, anyJson, { maxKeys: 3 }),
);

const configObject = fc.oneof(
  fc.constant(GOOD_CONFIG),
  fc.record({ model: fc.oneof(fc.constant('loopback/echo'), fieldValue) }, { requiredKeys: [] }),
  fc.dictionary(fc.oneof(evilKey, fc.constantFrom('model', 'voice', 'instructions', 'temperature', 'tools', 'turn_detection', 'modalities')), fieldValue, { maxKeys: 4 }).map((c) => ({ ...GOOD_CONFIG, ...c })),
);

/** JSON text of a mint-shaped body, sometimes with hand-written hostile pieces spliced in. */
const mintJsonText = fc.oneof(
  fc.record(
    { config: fc.oneof(configObject, fieldValue), ttl_seconds: fc.oneof(fc.integer({ min: -5, max: 400 }), fieldValue), locked_fields: fc.oneof(fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 }), fieldValue) },
    { requiredKeys: [] },
  ).map((body) => JSON.stringify(body)),
  fc.tuple(evilKey, anyJson).map(([key, value]) => `{"config":{"model":"loopback/echo"},${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}}`),
  fc.constant('{"__proto__":{"polluted":"yes"},"config":{"model":"loopback/echo"}}'),
  fc.constant('{"config":{"model":"loopback/echo","__proto__":{"polluted":"yes"}}}'),
  fc.constant('{"constructor":{"prototype":{"polluted":"yes"}},"config":{"model":"loopback/echo"}}'),
  edgeNumberText.map((n) => `{"config":{"model":"loopback/echo","temperature":${n}},"ttl_seconds":${n}}`),
  fc.integer({ min: 1, max: 20_000 }).map((depth) => `{"config":${'['.repeat(depth)}${']'.repeat(depth)}}`),
  fc.integer({ min: 1, max: 5_000 }).map((depth) => `{"config":{"model":"loopback/echo","tools":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}`),
  fc.constant(`{"config":{"model":"loopback/echo","instructions":"${'x'.repeat(2_000_000)}"}}`),
  fc.constant('{"config":{"model":"loopback/echo","instructions":"\\ud800"}}'),
  anyJson.map((value) => JSON.stringify(value)),
  weirdString,
);

interface Attempt {
  body: string | Buffer;
  contentType: string | undefined;
}

const attempt: fc.Arbitrary<Attempt> = fc.oneof(
  { weight: 8, arbitrary: mintJsonText.map((body) => ({ body, contentType: 'application/json' })) },
  { weight: 1, arbitrary: fc.tuple(mintJsonText, fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'application/jsonx', undefined)).map(([body, contentType]) => ({ body, contentType })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ body: Buffer.from(bytes), contentType: 'application/json' })) },
);

/** What the mint rules say about a JSON text: accepted, or not (not JSON, or refused by the parser). */
function contractAccepts(text: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return false;
  }
  try {
    parseMintRequest(parsed);
    return true;
  } catch {
    return false;
  }
}

const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort();

describe.each(PLATFORMS)('mint body fuzzing (%s)', (platform) => {
  let app: HttpApp;
  const before = prototypeKeys();

  beforeAll(async () => {
    app = await startRealtimeApp(platform, { limits: { mintsPerKeyPerSecond: 1_000_000, maxOutstandingTicketsPerProject: 1_000_000 } });
    app.app.useLogger(SILENT_LOGGER);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('refuses a body nested thousands of levels deep with a 400 naming the field (it was a 500: stack overflow)', async () => {
    const depth = 5000;
    for (const [body, field] of [
      [`{"config":${'['.repeat(depth)}${']'.repeat(depth)}}`, 'config.0.0'],
      [`{"config":{"model":"loopback/echo","turn_detection":${'['.repeat(depth)}${']'.repeat(depth)}}}`, 'config.turn_detection.0'],
    ]) {
      const response = await fetch(`${app.baseUrl}/v3/realtime-sessions`, { method: 'POST', headers: { authorization: `Bearer ${RUNTIME_KEY.key}`, 'content-type': 'application/json' }, body });
      const answer = (await response.json()) as { error: { code: string; details: { field: string } } };
      expect([response.status, answer.error.code, answer.error.details.field]).toEqual([400, 'invalid_field', field]);
    }
  });

  it(
    'answers every body with a documented status and error body, a 200 only when the contract accepts it',
    async () => {
      const seen = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(attempt, async ({ body, contentType }) => {
          const headers: Record<string, string> = { authorization: `Bearer ${RUNTIME_KEY.key}` };
          if (contentType !== undefined) headers['content-type'] = contentType;
          const response = await fetch(`${app.baseUrl}/v3/realtime-sessions`, { method: 'POST', headers, body, signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
          const text = await response.text();
          seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
          expect(ALLOWED.has(response.status)).toBe(true);
          const answer = JSON.parse(text);
          if (response.status === 200) {
            // Opper's three keys plus our additive public ticket `id` (docs/protocol.md §1).
            expect(Object.keys(answer).sort()).toEqual(['client_secret', 'expires_at', 'id', 'ws_url']);
            // An empty body is "no body", which §1 reads as `{}` whatever its media type.
            const empty = body.length === 0;
            // (Media type parameters are the platform's business: Express refuses a charset it cannot
            // decode with 415, Fastify reads JSON as UTF-8 whatever the declared charset.)
            const json = typeof contentType === 'string' && /^application\/json\s*(;|$)/.test(contentType);
            expect(empty || (typeof body === 'string' && json && contractAccepts(body))).toBe(true);
          } else {
            expect(typeof answer.error.code).toBe('string');
            expect(typeof answer.error.message).toBe('string');
            if (response.status === 503) expect(answer.error.code).not.toBe('internal_error');
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        }),
        fuzzParameters(RUNS),
      );
      expect(prototypeKeys()).toEqual(before);
      // The generators reach both sides: some bodies are accepted, most are refused.
      expect(seen.get(200)).toBeGreaterThan(0);
      expect(seen.get(400)).toBeGreaterThan(0);
      console.log(`mint fuzz (${platform}): statuses ${JSON.stringify(Object.fromEntries(seen))}`);
    },
    fuzzTimeout(RUNS, 100),
  );
});
