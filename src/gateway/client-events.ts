// Parsing of client frames (docs/protocol.md §5) into typed events. The gateway never forwards client
// JSON: only the fields named here reach a provider, so nothing can be smuggled upstream.
import { ErrorCode } from '../errors/error-codes.js';
import { isBase64Text } from '../providers/core/pcm16.js';
import type { ClientEvent } from '../providers/realtime-provider.js';
import { isPlainObject } from '../session-config/validation.js';

export type ParsedClientFrame =
  | { kind: 'start'; config: Record<string, unknown> }
  | { kind: 'update'; config: Record<string, unknown> }
  | { kind: 'event'; event: Exclude<ClientEvent, { type: 'session.update' }> }
  | { kind: 'invalid'; code: ErrorCode; message: string };

const IMAGE_DETAILS = new Set(['auto', 'low', 'high']);

function invalid(message: string, code: ErrorCode = ErrorCode.InvalidEvent): ParsedClientFrame {
  return { kind: 'invalid', code, message };
}

const APPEND_PREFIX = Buffer.from('{"type":"audio.append","audio":"', 'latin1');
const QUOTE = 0x22;
const CLOSING_BRACE = 0x7d;

/**
 * The hot path: the audio of an `audio.append` frame written exactly as
 * `{"type":"audio.append","audio":"<base64>"}` (what clients, the demo page included, send 50 times
 * a second), without decoding the frame to a string and parsing it. The audio gets the same check
 * as in parseClientFrame. Anything else — other spacing or key order, other fields, invalid
 * base64 — returns undefined and goes through parseClientFrame, which decides as before.
 */
export function audioOfAppendFrame(frame: Buffer): string | undefined {
  const start = APPEND_PREFIX.length;
  const end = frame.length - 2;
  if (end < start || frame[end] !== QUOTE || frame[end + 1] !== CLOSING_BRACE) return undefined;
  if (frame.compare(APPEND_PREFIX, 0, start, 0, start) !== 0) return undefined;
  // Base64 is ASCII: for a valid value latin1 and UTF-8 decode the same; any other byte fails the test.
  const audio = frame.toString('latin1', start, end);
  return isBase64Text(audio) ? audio : undefined;
}

export function parseClientFrame(text: string): ParsedClientFrame {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return invalid('Frame is not valid JSON', ErrorCode.InvalidJson);
  }
  if (!isPlainObject(frame) || typeof frame.type !== 'string') {
    return invalid('Frame must be a JSON object with a string "type"');
  }
  switch (frame.type) {
    case 'session.start':
    case 'session.update': {
      const config = frame.config ?? {};
      if (!isPlainObject(config)) return invalid(`${frame.type}: "config" must be an object`);
      return { kind: frame.type === 'session.start' ? 'start' : 'update', config };
    }
    case 'audio.append': {
      const audio = frame.audio;
      if (typeof audio !== 'string' || !isBase64Text(audio)) {
        return invalid('audio.append: "audio" must be base64-encoded PCM16');
      }
      return { kind: 'event', event: { type: 'audio.append', audio } };
    }
    case 'audio.commit':
    case 'audio.clear':
    case 'response.create':
    case 'response.cancel':
      return { kind: 'event', event: { type: frame.type } };
    case 'text.input':
      if (typeof frame.text !== 'string') return invalid('text.input: "text" must be a string');
      return { kind: 'event', event: { type: 'text.input', text: frame.text } };
    case 'image.input': {
      const { image_url, image_detail, text } = frame;
      if (typeof image_url !== 'string' || image_url === '') return invalid('image.input: "image_url" must be a non-empty string');
      if (image_detail !== undefined && (typeof image_detail !== 'string' || !IMAGE_DETAILS.has(image_detail))) {
        return invalid('image.input: "image_detail" must be one of auto, low, high');
      }
      if (text !== undefined && typeof text !== 'string') return invalid('image.input: "text" must be a string');
      return {
        kind: 'event',
        event: { type: 'image.input', image_url, ...(image_detail ? { image_detail } : {}), ...(text !== undefined ? { text } : {}) },
      };
    }
    case 'tool.result':
      if (typeof frame.tool_call_id !== 'string' || frame.tool_call_id === '') {
        return invalid('tool.result: "tool_call_id" must be a non-empty string');
      }
      if (!('tool_result' in frame)) return invalid('tool.result: "tool_result" is required');
      return { kind: 'event', event: { type: 'tool.result', tool_call_id: frame.tool_call_id, tool_result: frame.tool_result } };
    default:
      return invalid(`Unknown event type "${frame.type.slice(0, 64)}"`, ErrorCode.UnknownEvent);
  }
}
