// Reader of the recorded WebSocket sessions in test/fixtures/gemini-live/ (googleapis/js-genai's
// `*.websocket.log` recordings; see test/fixtures/README.md). One entry per frame:
//   `>N <payload>\n`  client → server (compact JSON, as the SDK sent it)
//   `<N <payload>\n`  server → client (pretty-printed JSON, sent as a binary frame)
// N is the byte length of the payload plus the newline that ends the entry. A server payload itself
// ends with a newline (Google's JSON printer); it is kept, so a replay is byte-for-byte.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface RecordedFrame {
  direction: 'client' | 'server';
  /** The frame's payload, exactly as sent. */
  payload: string;
  /** The payload parsed. */
  json: unknown;
}

export interface Recording {
  name: string;
  frames: RecordedFrame[];
}

export function parseRecording(log: Buffer, name = 'recording'): Recording {
  const frames: RecordedFrame[] = [];
  let at = 0;
  while (at < log.length) {
    const head = /^([<>])(\d+) /.exec(log.subarray(at, at + 24).toString('latin1'));
    if (!head) throw new Error(`${name}: no frame header at byte ${at}`);
    const length = Number(head[2]);
    const start = at + head[0].length;
    const entry = log.subarray(start, start + length);
    if (entry.length !== length || entry[length - 1] !== 0x0a) throw new Error(`${name}: frame at byte ${at} is not ${length} bytes ending with a newline`);
    const payload = entry.subarray(0, length - 1).toString('utf8');
    frames.push({ direction: head[1] === '>' ? 'client' : 'server', payload, json: JSON.parse(payload) });
    at = start + length;
    while (log[at] === 0x0a) at++; // a blank line separates server entries
  }
  return { name, frames };
}

export function readRecording(path: string): Recording {
  return parseRecording(readFileSync(path), basename(path));
}
