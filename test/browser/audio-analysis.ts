// Signal checks for the browser tests: WAV parsing, RMS envelopes, and best-lag correlations, so a
// test can say "what was played is the speech that was sent" instead of counting events.

export interface Pcm {
  sampleRate: number;
  /** Mono samples in [-1, 1]. */
  samples: Float32Array;
}

/** PCM16 mono WAV → float samples (the fixture's format). */
export function readWav(wav: Buffer): Pcm {
  if (wav.toString('ascii', 0, 4) !== 'RIFF' || wav.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV file');
  let offset = 12;
  let sampleRate = 0;
  while (offset + 8 <= wav.length) {
    const id = wav.toString('ascii', offset, offset + 4);
    const size = wav.readUInt32LE(offset + 4);
    if (id === 'fmt ') {
      const format = wav.readUInt16LE(offset + 8);
      const channels = wav.readUInt16LE(offset + 10);
      const bits = wav.readUInt16LE(offset + 22);
      if (format !== 1 || channels !== 1 || bits !== 16) throw new Error('expected PCM16 mono');
      sampleRate = wav.readUInt32LE(offset + 12);
    }
    if (id === 'data') {
      if (!sampleRate) throw new Error('WAV data before fmt');
      return { sampleRate, samples: int16ToFloat(bytesToInt16(wav.subarray(offset + 8, offset + 8 + size))) };
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error('no data chunk in WAV');
}

/** Little-endian PCM16 bytes → samples. */
export function bytesToInt16(bytes: Buffer): Int16Array {
  const out = new Int16Array(Math.floor(bytes.length / 2));
  for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(i * 2);
  return out;
}

export function int16ToFloat(pcm: Int16Array): Float32Array {
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i] / (pcm[i] < 0 ? 0x8000 : 0x7fff);
  return out;
}

/** Native-endian Float32 bytes (what the page's tap recorded) → samples. */
export function bytesToFloat32(bytes: Buffer): Float32Array {
  const copy = new Uint8Array(bytes.length - (bytes.length % 4));
  copy.set(bytes.subarray(0, copy.length));
  return new Float32Array(copy.buffer);
}

export function rms(samples: Float32Array, from = 0, to = samples.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += samples[i] * samples[i];
  return to > from ? Math.sqrt(sum / (to - from)) : 0;
}

/** RMS per window of `windowMs`: a rate-independent picture of where the speech is. */
export function envelope(pcm: Pcm, windowMs = 10): Float64Array {
  const size = Math.round((pcm.sampleRate * windowMs) / 1000);
  const out = new Float64Array(Math.floor(pcm.samples.length / size));
  for (let w = 0; w < out.length; w++) out[w] = rms(pcm.samples, w * size, (w + 1) * size);
  return out;
}

/** Pearson correlation of two equally long sequences. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>, bOffset = 0, length = a.length): number {
  let sa = 0, sb = 0;
  for (let i = 0; i < length; i++) {
    sa += a[i];
    sb += b[bOffset + i];
  }
  const ma = sa / length, mb = sb / length;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < length; i++) {
    const x = a[i] - ma, y = b[bOffset + i] - mb;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : 0;
}

/** Where `needle` fits best inside `haystack` (Pearson), over every lag in [minLag, maxLag]. */
export function bestLag(
  needle: ArrayLike<number>,
  haystack: ArrayLike<number>,
  minLag = 0,
  maxLag = haystack.length - needle.length,
): { lag: number; r: number } {
  let best = { lag: -1, r: -Infinity };
  for (let lag = Math.max(0, minLag); lag <= Math.min(maxLag, haystack.length - needle.length); lag++) {
    const r = pearson(needle, haystack, lag);
    if (r > best.r) best = { lag, r };
  }
  return best;
}

/** Linear-interpolation resampling (enough to line a waveform up with one rendered at another rate). */
export function resample(pcm: Pcm, rate: number): Pcm {
  const ratio = pcm.sampleRate / rate;
  const out = new Float32Array(Math.floor(pcm.samples.length / ratio));
  for (let i = 0; i < out.length; i++) {
    const pos = i * ratio;
    const j = Math.floor(pos);
    const f = pos - j;
    out[i] = pcm.samples[j] * (1 - f) + (pcm.samples[Math.min(j + 1, pcm.samples.length - 1)] ?? 0) * f;
  }
  return { sampleRate: rate, samples: out };
}
