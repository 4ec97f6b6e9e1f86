// The audio hot paths must decide exactly as the full parser and JSON.stringify do: the fast
// audio.append reader only ever returns what parseClientFrame would accept as that event.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { audioOfAppendFrame, parseClientFrame } from '../../src/gateway/client-events.js';
import { isBase64Text, PADDED_BASE64 } from '../../src/providers/core/pcm16.js';

const base64 = fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('base64'));
const nearlyBase64 = fc.oneof(base64, fc.string({ maxLength: 12 }), base64.map((b) => `${b}=`), base64.map((b) => b.replace(/A/g, '"')), base64.map((b) => `${b}\\u0041`));
const frames = fc.oneof(
  nearlyBase64.map((audio) => `{"type":"audio.append","audio":"${audio}"}`),
  nearlyBase64.map((audio) => JSON.stringify({ type: 'audio.append', audio })),
  nearlyBase64.map((audio) => JSON.stringify({ audio, type: 'audio.append' })),
  nearlyBase64.map((audio) => `{"type":"audio.append","audio":"${audio}","x":1}`),
  nearlyBase64.map((audio) => `{"type":"audio.append", "audio":"${audio}"}`),
  fc.string(),
);

describe('audio.append hot path', () => {
  it('returns audio only when parseClientFrame accepts the frame as that audio.append', () => {
    let fast = 0;
    fc.assert(
      fc.property(frames, (text) => {
        const audio = audioOfAppendFrame(Buffer.from(text, 'utf8'));
        if (audio === undefined) return;
        fast += 1;
        expect(parseClientFrame(text)).toEqual({ kind: 'event', event: { type: 'audio.append', audio } });
      }),
      { numRuns: 3000 },
    );
    expect(fast).toBeGreaterThan(100);
  });

  it('takes every canonical valid frame, including empty audio', () => {
    fc.assert(
      fc.property(base64, (audio) => {
        expect(audioOfAppendFrame(Buffer.from(JSON.stringify({ type: 'audio.append', audio })))).toBe(audio);
      }),
    );
    expect(audioOfAppendFrame(Buffer.from('{"type":"audio.append","audio":""}'))).toBe('');
  });

  it('isBase64Text (a codec round trip, then the regex) answers as the regex and length rule do', () => {
    // Non-zero trailing bits (`QR==`) are valid for the regex but not what the codec writes back.
    const trailing = fc.constantFrom('QR==', 'QUI=', 'QUJ=', 'AB==');
    const long = fc.integer({ min: 60_000, max: 70_000 }).map((n) => 'QUFB'.repeat(n / 4));
    fc.assert(
      fc.property(fc.oneof(nearlyBase64, trailing, fc.tuple(base64, trailing).map(([a, b]) => a + b), long, long.map((l) => `${l}!`)), (text) => {
        expect(isBase64Text(text)).toBe(text.length % 4 === 0 && PADDED_BASE64.test(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('base64 audio needs no JSON escaping, so concatenation equals JSON.stringify', () => {
    fc.assert(
      fc.property(nearlyBase64, (audio) => {
        if (!PADDED_BASE64.test(audio)) return;
        expect('{"type":"audio.delta","audio":"' + audio + '"}').toBe(JSON.stringify({ type: 'audio.delta', audio }));
      }),
    );
  });
});
