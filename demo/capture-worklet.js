// AudioWorklet: microphone → mono PCM16 LE at the session's input_sample_rate, in fixed-size chunks
// (~100 ms) posted to the page with their level. Runs on the audio thread; the page decides what
// is sent. Resampling: a box filter (average over one output period) when downsampling, which keeps
// aliasing low for speech, and linear interpolation when upsampling.
class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { targetRate, chunkMs } = options.processorOptions;
    /** Input samples per output sample (`sampleRate` is the context's rate, a worklet global). */
    this.step = sampleRate / targetRate;
    this.half = this.step > 1 ? this.step / 2 : 0;
    /** Unconsumed input, and the position of the next output sample in it (fractional). */
    this.pending = new Float32Array(0);
    this.pos = 0;
    this.chunk = new Int16Array(Math.max(1, Math.round((targetRate * chunkMs) / 1000)));
    this.fill = 0;
    this.sumSquares = 0;
    this.port.onmessage = (event) => {
      // The page asks for the partial chunk at the end of a push-to-talk turn.
      if (event.data?.type === 'flush') this.post(true);
    };
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const frames = channels[0].length;
    const input = new Float32Array(this.pending.length + frames);
    input.set(this.pending);
    for (let i = 0; i < frames; i++) {
      let sum = 0;
      for (let c = 0; c < channels.length; c++) sum += channels[c][i];
      input[this.pending.length + i] = sum / channels.length;
    }
    while (this.pos + this.half + 1 < input.length) {
      this.push(this.sampleAt(input, this.pos));
      this.pos += this.step;
    }
    const keep = Math.max(0, Math.floor(this.pos - this.half) - 1);
    this.pending = input.slice(keep);
    this.pos -= keep;
    return true;
  }

  sampleAt(input, pos) {
    if (this.step > 1) {
      const from = Math.max(0, Math.ceil(pos - this.half));
      const to = Math.min(input.length - 1, Math.floor(pos + this.half));
      let sum = 0;
      for (let i = from; i <= to; i++) sum += input[i];
      return sum / (to - from + 1);
    }
    const i = Math.floor(pos);
    const f = pos - i;
    return input[i] * (1 - f) + input[i + 1] * f;
  }

  push(value) {
    const v = Math.max(-1, Math.min(1, value));
    this.sumSquares += v * v;
    this.chunk[this.fill++] = v < 0 ? Math.round(v * 0x8000) : Math.round(v * 0x7fff);
    if (this.fill === this.chunk.length) this.post(false);
  }

  post(final) {
    const pcm = this.chunk.slice(0, this.fill);
    const level = this.fill > 0 ? Math.sqrt(this.sumSquares / this.fill) : 0;
    this.port.postMessage({ type: 'chunk', pcm: pcm.buffer, level, final }, [pcm.buffer]);
    this.fill = 0;
    this.sumSquares = 0;
  }
}

registerProcessor('capture-processor', CaptureProcessor);
