// PCM16 framing for the loopback provider: strict decoding of the client's base64 audio and
// re-chunking of a committed turn into the frames it echoes back.

/** 100 ms at 24 kHz: the largest echoed frame, the size real upstreams tend to send. */
export const LOOPBACK_MAX_FRAME_BYTES = 4800;

/**
 * Decodes padded standard base64 into PCM16 bytes, or `undefined` when the payload is not
 * base64 or holds half a sample. `Buffer.from(…, 'base64')` alone would silently skip bad
 * characters, and the echo must never return bytes the client did not send. Checked with a
 * scan rather than one anchored regex so multi-megabyte frames cannot hit regex backtracking limits.
 */
export function decodePcm16(base64: string): Buffer | undefined {
  if (typeof base64 !== 'string' || base64.length % 4 !== 0) return undefined;
  if (/[^A-Za-z0-9+/=]/.test(base64)) return undefined;
  const padding = base64.indexOf('=');
  if (padding >= 0) {
    const tail = base64.slice(padding);
    if (tail !== '=' && tail !== '==') return undefined;
  }
  const bytes = Buffer.from(base64, 'base64');
  return bytes.length % 2 === 0 ? bytes : undefined;
}

/** Base64 frames of at most `maxBytes` of `pcm` each, in order, lazily (a long turn is not encoded up front). */
export function* base64Frames(pcm: Buffer, maxBytes: number = LOOPBACK_MAX_FRAME_BYTES): Generator<string> {
  for (let offset = 0; offset < pcm.length; offset += maxBytes) {
    yield pcm.subarray(offset, offset + maxBytes).toString('base64');
  }
}
