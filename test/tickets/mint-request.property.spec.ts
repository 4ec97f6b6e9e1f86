// Properties of the mint-body rules (docs/protocol.md §1): Go zero values, ttl_seconds defaulting and
// clamping, and locked_fields, over generated inputs.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { RealtimeApiError, SESSION_CONFIG_FIELDS, isZeroValue, type ErrorBody } from '../../src/index.js';
import { parseMintRequest } from '../../src/issuance/mint-request.js';

/** What parseMintRequest throws, as `{status, code, message}`; fails the test when it does not throw. */
function rejection(body: unknown): { status: number; code: string; message: string } {
  try {
    parseMintRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(RealtimeApiError);
    const { error } = (err as RealtimeApiError).getResponse() as ErrorBody;
    return { status: (err as RealtimeApiError).getStatus(), code: error.code, message: error.message };
  }
  throw new Error(`parseMintRequest accepted ${JSON.stringify(body)}`);
}

describe('isZeroValue', () => {
  it('is true exactly for null, "", false, 0, [] and {} among JSON values', () => {
    const zeroJson = new Set(['null', '""', 'false', '0', '[]', '{}']);
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(isZeroValue(value)).toBe(zeroJson.has(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
    expect(isZeroValue(undefined)).toBe(true);
  });
});

describe('parseMintRequest: ttl_seconds', () => {
  it('absent, null or 0 → 60; any other integer is clamped into [1, 300]', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: -400, max: 400 })), (ttl) => {
        const expected = ttl === 0 ? 60 : Math.min(300, Math.max(1, ttl));
        expect(parseMintRequest({ ttl_seconds: ttl }).ttlSeconds).toBe(expected);
      }),
      { numRuns: 500 },
    );
    expect(parseMintRequest({}).ttlSeconds).toBe(60);
    expect(parseMintRequest({ ttl_seconds: null }).ttlSeconds).toBe(60);
    expect(parseMintRequest(undefined).ttlSeconds).toBe(60);
  });

  it('a finite non-integer number → 400 invalid_ttl', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)), (ttl) => {
        expect(rejection({ ttl_seconds: ttl })).toMatchObject({ status: 400, code: 'invalid_ttl' });
      }),
      { numRuns: 300 },
    );
  });

  it('any non-number JSON value other than null → 400 invalid_ttl', () => {
    const nonNumber = fc.jsonValue().filter((v) => v !== null && typeof v !== 'number');
    fc.assert(
      fc.property(nonNumber, (ttl) => {
        expect(rejection({ ttl_seconds: ttl })).toMatchObject({ status: 400, code: 'invalid_ttl' });
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseMintRequest: locked_fields and body shape', () => {
  it('any list of §4 field names is kept once each, in first-seen order', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...SESSION_CONFIG_FIELDS), { maxLength: 30 }), (names) => {
        expect(parseMintRequest({ locked_fields: names }).lockedFields).toEqual([...new Set(names)]);
      }),
    );
  });

  it('a list with any other string → 400 invalid_locked_field naming it', () => {
    const unknownName = fc.string({ minLength: 1 }).filter((s) => !(SESSION_CONFIG_FIELDS as readonly string[]).includes(s));
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...SESSION_CONFIG_FIELDS)), unknownName, fc.nat(), (valid, bad, at) => {
        const names: string[] = [...valid];
        names.splice(at % (names.length + 1), 0, bad);
        const error = rejection({ locked_fields: names });
        expect(error).toMatchObject({ status: 400, code: 'invalid_locked_field' });
        expect(error.message).toContain(bad);
      }),
    );
  });

  it('a body that is not a JSON object → 400', () => {
    const notObject = fc.jsonValue().filter((v) => v === null || typeof v !== 'object' || Array.isArray(v));
    fc.assert(
      fc.property(notObject, (body) => {
        expect(rejection(body).status).toBe(400);
      }),
      { numRuns: 200 },
    );
  });
});
