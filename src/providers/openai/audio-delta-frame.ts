// The provider → client hot path of the GA event mapping: the audio of a `response.output_audio.delta`
// frame read on its bytes, without decoding the frame to a string and parsing it (the model speaks
// 50 of these a second per session). It accepts only the shape OpenAI and xAI send —
//   {"type":"response.output_audio.delta","event_id":"event_…",…,"output_index":0,"content_index":0,"delta":"<base64>"}
// — `type` first, compact, every other member a plain id or a number, `delta` last and base64. What
// it accepts is therefore valid JSON whose parse has that type and that delta, and the mapping uses
// nothing else of the event. Anything else (other spacing or key order, escapes, nested values, a
// repeated `type` or `delta`, invalid base64) returns undefined and goes through JSON.parse, which
// decides as before. test/providers/audio-delta-fast-path.spec.ts checks the two agree.
import { isBase64Text } from '../core/pcm16.js';

const PREFIX = Buffer.from('{"type":"response.output_audio.delta"', 'latin1');
const COMMA = 0x2c;
const QUOTE = 0x22;
const COLON = 0x3a;
const CLOSING_BRACE = 0x7d;
const ZERO = 0x30;
const NINE = 0x39;

/** Key characters: a-z and `_` (every GA event key). */
function isKeyChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/** Characters of a plain id value (`event_…`, `resp_…`, `item_…`): nothing JSON escapes or that needs UTF-8. */
function isIdChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= ZERO && c <= NINE) || c === 0x5f || c === 0x2d || c === 0x2e;
}

/** Whether the key at [start, end) is `name` (ASCII). */
function keyIs(frame: Buffer, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (frame[start + i] !== name.charCodeAt(i)) return false;
  return true;
}

/**
 * The `delta` of a canonical `response.output_audio.delta` text frame ('' for an empty one), or
 * undefined when the frame must be parsed.
 */
export function audioOfDeltaFrame(frame: Buffer): string | undefined {
  const length = frame.length;
  if (length < PREFIX.length + 12 || frame[length - 1] !== CLOSING_BRACE || frame[length - 2] !== QUOTE) return undefined;
  if (frame.compare(PREFIX, 0, PREFIX.length, 0, PREFIX.length) !== 0) return undefined;
  let i = PREFIX.length;
  for (;;) {
    // ,"key":
    if (frame[i] !== COMMA || frame[i + 1] !== QUOTE) return undefined;
    const keyStart = (i += 2);
    while (i < length && isKeyChar(frame[i])) i++;
    const keyEnd = i;
    if (keyEnd === keyStart || frame[i] !== QUOTE || frame[i + 1] !== COLON) return undefined;
    i += 2;
    if (keyIs(frame, keyStart, keyEnd, 'delta')) {
      // The last member: its string runs to the closing `"}` (base64 holds no quote, so that quote
      // is the string's end).
      if (frame[i] !== QUOTE || i + 1 > length - 2) return undefined;
      const audio = frame.toString('latin1', i + 1, length - 2);
      return isBase64Text(audio) ? audio : undefined;
    }
    // A later `type` would win in JSON.parse.
    if (keyIs(frame, keyStart, keyEnd, 'type')) return undefined;
    const c = frame[i];
    if (c === QUOTE) {
      i += 1;
      while (i < length && isIdChar(frame[i])) i++;
      if (frame[i] !== QUOTE) return undefined;
      i += 1;
    } else if (c === ZERO) {
      i += 1; // JSON allows no leading zero: `0` alone
    } else if (c > ZERO && c <= NINE) {
      while (i < length && frame[i] >= ZERO && frame[i] <= NINE) i++;
    } else {
      return undefined;
    }
  }
}
