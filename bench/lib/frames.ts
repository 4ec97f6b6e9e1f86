// The relay benchmark's audio frames: 20 ms of 24 kHz PCM16 mono (960 bytes, 1,280 base64
// characters) whose first 12 bytes carry the send time (float64, ms of the load generator's
// performance.now()) and a frame number (uint32). 12 bytes are exactly 16 base64 characters, so
// the rest of the frame is encoded once and only those 16 characters change per frame; the
// receiver finds them by a byte search for the audio field, without parsing the JSON.

export const SAMPLE_RATE = 24_000;
export const FRAME_MS = 20;
export const FRAME_BYTES = (SAMPLE_RATE * FRAME_MS) / 1000 * 2; // 960
const STAMP_BYTES = 12;
export const STAMP_CHARS = 16;

/** A deterministic, speech-like (not silent) PCM16 body: a 220 Hz tone with a little noise. */
function pcmBody(): Buffer {
  const pcm = Buffer.alloc(FRAME_BYTES);
  let seed = 12345;
  for (let i = 0; i < FRAME_BYTES / 2; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const noise = ((seed >> 16) % 2000) - 1000;
    const tone = Math.round(8000 * Math.sin((2 * Math.PI * 220 * i) / SAMPLE_RATE));
    pcm.writeInt16LE(Math.max(-32768, Math.min(32767, tone + noise)), i * 2);
  }
  return pcm;
}

const TAIL_BASE64 = pcmBody().subarray(STAMP_BYTES).toString('base64');

/**
 * A JSON text frame `prefix + <audio base64> + suffix` as a template buffer; `stampAt` is where the
 * 16 stamp characters go.
 */
export class FrameTemplate {
  readonly bytes: Buffer;
  readonly stampAt: number;
  private readonly stamp = Buffer.alloc(STAMP_BYTES);

  constructor(prefix: string, suffix: string) {
    const placeholder = 'A'.repeat(STAMP_CHARS);
    this.bytes = Buffer.from(prefix + placeholder + TAIL_BASE64 + suffix, 'latin1');
    this.stampAt = Buffer.byteLength(prefix, 'latin1');
  }

  /** A fresh buffer holding the frame stamped with `sentAt` and `seq` (ws may keep it queued). */
  make(sentAt: number, seq: number): Buffer {
    const out = Buffer.allocUnsafe(this.bytes.length);
    this.bytes.copy(out);
    this.stamp.writeDoubleLE(sentAt, 0);
    this.stamp.writeUInt32LE(seq >>> 0, 8);
    out.write(this.stamp.toString('base64'), this.stampAt, STAMP_CHARS, 'latin1');
    return out;
  }
}

/** Finds `"<field>":"` in a frame and reads the stamp of the audio after it. */
export class StampReader {
  private readonly key: Buffer;

  constructor(field: string) {
    this.key = Buffer.from(`"${field}":"`, 'latin1');
  }

  /** The send time in the frame (ms), or NaN when the frame has no such field. */
  sentAt(frame: Buffer): number {
    const at = frame.indexOf(this.key);
    if (at < 0) return NaN;
    const start = at + this.key.length;
    if (start + STAMP_CHARS > frame.length) return NaN;
    return Buffer.from(frame.toString('latin1', start, start + STAMP_CHARS), 'base64').readDoubleLE(0);
  }
}
