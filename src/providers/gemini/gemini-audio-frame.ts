// The Gemini → client hot path: the audio of a server message that carries one audio part and
// nothing else, read on its bytes without decoding the frame to a string and parsing it. Gemini
// pretty-prints its messages, so whitespace between tokens is allowed; the shape is fixed:
//   {"serverContent": {"modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/…", "data": "<base64>"}}]}}}
// (`mimeType` and `data` in either order). What it accepts is valid JSON that parses to exactly that
// message. Anything else (another field anywhere, escapes, several parts, invalid base64) returns
// undefined and goes through JSON.parse, which decides as before.
// test/providers/audio-delta-fast-path.spec.ts checks the two agree.
import { isBase64Text } from '../core/pcm16.js';

const key = (name: string) => Buffer.from(`"${name}"`, 'latin1');
const SERVER_CONTENT = key('serverContent');
const MODEL_TURN = key('modelTurn');
const PARTS = key('parts');
const INLINE_DATA = key('inlineData');
const MIME_TYPE = key('mimeType');
const DATA = key('data');
const AUDIO_MIME = Buffer.from('audio/', 'latin1');
const QUOTE = 0x22;

export interface InlineAudio {
  mimeType: string;
  /** Base64, possibly empty. */
  data: string;
}

/** Index after JSON whitespace from `i`. */
function skipSpace(frame: Buffer, i: number): number {
  for (;;) {
    const c = frame[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/** Index after `byte` (whitespace before it allowed), or -1. */
function expect(frame: Buffer, i: number, byte: number): number {
  if (i < 0) return -1;
  i = skipSpace(frame, i);
  return frame[i] === byte ? i + 1 : -1;
}

/** Index after `"name"` and its colon, or -1. */
function expectKey(frame: Buffer, i: number, name: Buffer): number {
  if (i < 0) return -1;
  i = skipSpace(frame, i);
  if (i + name.length > frame.length || frame.compare(name, 0, name.length, i, i + name.length) !== 0) return -1;
  return expect(frame, i + name.length, 0x3a);
}

/** Characters of a MIME type value: nothing JSON escapes or that needs UTF-8. */
function isMimeChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2f || c === 0x3b || c === 0x3d || c === 0x2e || c === 0x2b || c === 0x2d;
}

/** The one audio part of a message that holds nothing else, or undefined when the frame must be parsed. */
export function inlineAudioOfFrame(frame: Buffer): InlineAudio | undefined {
  let i = expect(frame, 0, 0x7b);
  i = expect(frame, expectKey(frame, i, SERVER_CONTENT), 0x7b);
  i = expect(frame, expectKey(frame, i, MODEL_TURN), 0x7b);
  i = expect(frame, expectKey(frame, i, PARTS), 0x5b);
  i = expect(frame, i, 0x7b);
  i = expect(frame, expectKey(frame, i, INLINE_DATA), 0x7b);
  if (i < 0) return undefined;
  let mimeType: string | undefined;
  let data: string | undefined;
  for (let member = 0; member < 2; member++) {
    if (member === 1 && (i = expect(frame, i, 0x2c)) < 0) return undefined;
    i = skipSpace(frame, i);
    if (mimeType === undefined && frame[i + 1] === 0x6d) {
      i = expect(frame, expectKey(frame, i, MIME_TYPE), QUOTE);
      if (i < 0 || i + AUDIO_MIME.length > frame.length || frame.compare(AUDIO_MIME, 0, AUDIO_MIME.length, i, i + AUDIO_MIME.length) !== 0) return undefined;
      const start = i;
      while (i < frame.length && isMimeChar(frame[i])) i++;
      if (frame[i] !== QUOTE) return undefined;
      mimeType = frame.toString('latin1', start, i);
      i += 1;
    } else if (data === undefined) {
      i = expect(frame, expectKey(frame, i, DATA), QUOTE);
      if (i < 0) return undefined;
      // Base64 holds no quote: the next one ends the string (an escaped one fails the base64 check).
      const end = frame.indexOf(QUOTE, i);
      if (end < 0) return undefined;
      data = frame.toString('latin1', i, end);
      if (!isBase64Text(data)) return undefined;
      i = end + 1;
    } else {
      return undefined;
    }
  }
  // }}]}}} and nothing after but whitespace.
  for (const closing of [0x7d, 0x7d, 0x5d, 0x7d, 0x7d, 0x7d]) i = expect(frame, i, closing);
  if (i < 0 || skipSpace(frame, i) !== frame.length) return undefined;
  return { mimeType: mimeType!, data: data! };
}
