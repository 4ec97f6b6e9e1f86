// The fast path of assertValid (src/session-config/fast-validation.ts) must never accept what
// class-validator rejects: over generated JSON bodies — valid ones, and ones with a wrong type,
// an out-of-range value, an unknown or prototype key at any level — it agrees with class-validator
// (except that it leaves bodies with prototype-named keys to class-validator, which ignores them).
import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import fc from 'fast-check';
import { passesFastValidation } from '../../src/session-config/fast-validation.js';
import { CreateRealtimeSessionDto, SessionConfigDto } from '../../src/session-config/session-config.dto.js';
import { EVERY_FIELD_CONFIG } from '../helpers/realtime-app.js';

const OPTIONS = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true, validationError: { target: false, value: false } };

/**
 * Keys named like Object.prototype members (`constructor`, `toString`, `__proto__`…) are skipped by
 * class-transformer, so class-validator never sees them; the fast path sends them to class-validator.
 */
function hasPrototypeKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(hasPrototypeKey);
  return Object.keys(value).some((k) => k in Object.prototype || hasPrototypeKey((value as Record<string, unknown>)[k]));
}

/** Never accepts what class-validator rejects; agrees with it whenever no prototype key is involved. */
function expectAgreement(dto: new () => object, value: unknown): boolean {
  const fast = passesFastValidation(dto, value);
  const slow = slowPasses(dto, value);
  if (fast) expect(slow).toBe(true);
  if (!hasPrototypeKey(value)) expect(fast).toBe(slow);
  return fast;
}

function slowPasses(dto: new () => object, body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  return validateSync(plainToInstance(dto, body), OPTIONS).length === 0;
}

/** A value for a field: mostly one its rules accept, sometimes anything JSON. */
const anything = fc.jsonValue({ maxDepth: 2 });
const maybe = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: anything }, { weight: 1, arbitrary: fc.constant(null) });
const stringUpTo = (max: number) => fc.oneof(fc.string({ maxLength: 20 }), fc.constant('x'.repeat(max)), fc.constant('x'.repeat(max + 1)));
const numberIn = (min: number, max: number) => fc.oneof(fc.double({ min: min - 1, max: max + 1, noNaN: true }), fc.integer({ min: min - 1, max: max + 1 }), fc.constantFrom(min, max));
const withExtraKey = <T extends object>(arb: fc.Arbitrary<T>) =>
  fc.tuple(arb, fc.option(fc.constantFrom('unknown', '__proto__', 'constructor', 'Model', 'toString'), { freq: 6 }), anything).map(([value, key, extra]) => {
    if (!key) return value;
    const copy = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
    // JSON.parse, like a request body, makes "__proto__" an own key.
    const json = JSON.stringify(copy);
    return JSON.parse(`{${JSON.stringify(key)}:${JSON.stringify(extra)}${Object.keys(copy).length ? ',' : ''}${json.slice(1)}`) as T;
  });

const turnDetection = withExtraKey(
  fc.record(
    {
      type: maybe(fc.constantFrom('server_vad', 'semantic_vad', 'none', 'auto')),
      threshold: maybe(numberIn(0, 1)),
      prefix_padding_ms: maybe(numberIn(0, 10_000)),
      silence_duration_ms: maybe(numberIn(0, 10_000)),
    },
    { requiredKeys: [] },
  ),
);
const tool = withExtraKey(
  fc.record(
    {
      name: maybe(fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.string({ maxLength: 70 }))),
      description: maybe(stringUpTo(4096)),
      parameters: maybe(fc.dictionary(fc.string({ maxLength: 5 }), anything, { maxKeys: 3 })),
    },
    { requiredKeys: [] },
  ),
);
const config = withExtraKey(
  fc.record(
    {
      model: maybe(stringUpTo(200)),
      instructions: maybe(fc.string({ maxLength: 30 })),
      voice: maybe(stringUpTo(100)),
      modalities: maybe(fc.array(fc.constantFrom('audio', 'text', 'video'), { maxLength: 3 })),
      temperature: maybe(numberIn(0, 2)),
      reasoning_effort: maybe(fc.constantFrom('minimal', 'low', 'medium', 'high', 'xhigh', 'max')),
      input_audio_format: maybe(fc.constantFrom('pcm16', 'g711')),
      output_audio_format: maybe(fc.constantFrom('pcm16', 'opus')),
      input_transcription: maybe(fc.boolean()),
      input_transcription_model: maybe(stringUpTo(200)),
      output_transcription: maybe(fc.boolean()),
      turn_detection: maybe(turnDetection),
      tools: maybe(fc.array(fc.oneof({ weight: 5, arbitrary: tool }, { weight: 1, arbitrary: anything }), { maxLength: 3 })),
      translation_target_language: maybe(fc.constantFrom('', 'en', 'en-US', 'pt-BR', 'e', 'en_US', 'zh-Hant-TW')),
    },
    { requiredKeys: [] },
  ),
);
const body = withExtraKey(
  fc.record(
    {
      config: maybe(config),
      locked_fields: maybe(fc.array(fc.oneof(fc.constantFrom('model', 'instructions'), anything), { maxLength: 3 })),
      ttl_seconds: maybe(fc.oneof(fc.integer({ min: -10, max: 400 }), fc.double({ noNaN: true }))),
    },
    { requiredKeys: [] },
  ),
);

describe('fast validation', () => {
  it('agrees with class-validator on generated mint bodies', () => {
    let accepted = 0;
    fc.assert(
      fc.property(body, (b) => {
        if (expectAgreement(CreateRealtimeSessionDto, b)) accepted += 1;
      }),
      { numRuns: 3000 },
    );
    // The property is not vacuous: a good share of the generated bodies are valid.
    expect(accepted).toBeGreaterThan(20);
  });

  it('agrees with class-validator on generated session configs', () => {
    fc.assert(
      fc.property(config, (c) => {
        expectAgreement(SessionConfigDto, c);
      }),
      { numRuns: 3000 },
    );
  });

  it('takes the fast path for a full valid config, and never for non-objects or unknown DTOs', () => {
    expect(passesFastValidation(SessionConfigDto, EVERY_FIELD_CONFIG)).toBe(true);
    expect(passesFastValidation(CreateRealtimeSessionDto, { config: EVERY_FIELD_CONFIG, locked_fields: ['instructions'], ttl_seconds: 60 })).toBe(true);
    for (const value of [null, [], 'x', 1, Object.create({ model: 'x' })]) {
      expect(passesFastValidation(SessionConfigDto, value)).toBe(false);
    }
    class Undecorated {}
    expect(passesFastValidation(Undecorated, {})).toBe(false);
  });

  it('takes the fast path for valid metadata and allowed_origins, never for invalid ones', () => {
    const valid = { metadata: { user_id: 'u_42', plan: 'pro' }, allowed_origins: ['https://app.example.com'] };
    expect(passesFastValidation(CreateRealtimeSessionDto, valid)).toBe(true);
    for (const invalid of [
      { metadata: { user_id: 42 } },
      { metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) },
      { metadata: { note: 'x'.repeat(513) } },
      { allowed_origins: ['https://app.example.com/path'] },
      { allowed_origins: Array.from({ length: 17 }, (_, i) => `https://a${i}.example.com`) },
    ]) {
      expect(passesFastValidation(CreateRealtimeSessionDto, invalid)).toBe(false);
    }
  });
});
