// PCM16 LE mono, the only audio the protocol carries: the whole-sample rule every adapter enforces
// (through UpstreamSessionCore), base64 round trips, sample-rate conversion and durations.
import { ErrorCode } from '../../errors/error-codes.js';
import type { ServerEvent } from '../realtime-provider.js';

/**
 * Decoded length of a base64 string, read from its length and padding without decoding it (the
 * audio hot path). The gateway has already checked that `audio.append` carries padded base64.
 */
export function base64Bytes(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.floor(base64.length / 4) * 3 - padding;
}

/** The `error` event of an `audio.append` that is not whole PCM16 samples. */
export function invalidAudioError(): Extract<ServerEvent, { type: 'error' }> {
  return { type: 'error', error: { code: ErrorCode.InvalidAudio, message: 'audio.append: audio must be base64 of PCM16 (an even number of bytes)' } };
}

/**
 * Whether `base64` is padded standard base64. The gateway checks this before any adapter sees the
 * audio; an adapter that must never pass on bytes the client did not send (the loopback echo) and
 * can afford a second scan checks again. `Buffer.from(…, 'base64')` alone would silently skip bad
 * characters. A scan rather than one anchored regex, so multi-megabyte frames cannot hit regex
 * backtracking limits.
 */
export function isPaddedBase64(base64: string): boolean {
  if (base64.length % 4 !== 0 || /[^A-Za-z0-9+/=]/.test(base64)) return false;
  const padding = base64.indexOf('=');
  return padding < 0 || base64.length - padding <= 2 && /^={1,2}$/.test(base64.slice(padding));
}

/** Base64 as `audio.append` requires it (with a length that is a multiple of 4); nothing in it needs escaping in JSON. */
export const PADDED_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Scratch for isBase64Text's round trip (one per process; used synchronously, never kept). */
const scratch = Buffer.allocUnsafe(48 * 1024);
const SCRATCH_CHARS = (scratch.length / 3) * 4;

/**
 * The audio hot paths' base64 check: `/^[A-Za-z0-9+/]*={0,2}$/` with a length that is a multiple of
 * 4 — the rule `audio.append` has always had — about 3× faster on audio-sized strings. Node's own
 * codec decodes the text into a scratch buffer and encodes it back: whatever it reproduces exactly
 * is canonical padded base64, which the regex accepts. Anything else (invalid characters, non-zero
 * trailing bits, longer than the scratch) gets the regex, so the answer is the regex's in every case.
 */
export function isBase64Text(text: string): boolean {
  if (text.length % 4 !== 0) return false;
  if (text.length <= SCRATCH_CHARS && scratch.toString('base64', 0, scratch.write(text, 'base64')) === text) return true;
  return PADDED_BASE64.test(text);
}

export function pcmFromBase64(audio: string): Buffer {
  return Buffer.from(audio, 'base64');
}

export function pcmToBase64(pcm: Buffer): string {
  return pcm.toString('base64');
}

/**
 * Linear-interpolation resampling of PCM16 LE mono. Good enough for speech between 16 and 24 kHz;
 * an odd trailing byte is dropped.
 */
export function resamplePcm16(pcm: Buffer, fromRate: number, toRate: number): Buffer {
  if (fromRate === toRate) return pcm;
  const inSamples = pcm.length >> 1;
  if (inSamples === 0) return Buffer.alloc(0);
  const outSamples = Math.max(1, Math.round((inSamples * toRate) / fromRate));
  const out = Buffer.alloc(outSamples * 2);
  const step = fromRate / toRate;
  for (let i = 0; i < outSamples; i++) {
    const pos = i * step;
    const i0 = Math.min(Math.floor(pos), inSamples - 1);
    const i1 = Math.min(i0 + 1, inSamples - 1);
    const frac = pos - i0;
    const s = pcm.readInt16LE(i0 * 2) * (1 - frac) + pcm.readInt16LE(i1 * 2) * frac;
    out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(s))), i * 2);
  }
  return out;
}

/** Base64 audio at `toRate` (returned as is when the rates match: the hot path decodes nothing). */
export function resampleBase64(audio: string, fromRate: number, toRate: number): string {
  if (fromRate === toRate) return audio;
  return pcmToBase64(resamplePcm16(pcmFromBase64(audio), fromRate, toRate));
}

/** Milliseconds of audio in `bytes` of PCM16 mono at `rate`. */
export function pcmDurationMs(bytes: number, rate: number): number {
  return Math.floor((bytes / 2 / rate) * 1000);
}
