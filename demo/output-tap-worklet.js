// AudioWorklet on the playback path (scheduled audio → this node → speakers): passes the audio
// through unchanged, reports the output level for the meter, and, when the page asks, records
// exactly what was rendered (the browser tests compare it with what was sent).
class OutputTapProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.recording = false;
    this.batch = [];
    this.batchFrames = 0;
    this.sumSquares = 0;
    this.levelFrames = 0;
    this.port.onmessage = (event) => {
      if (event.data?.type === 'record') this.recording = Boolean(event.data.on);
      if (event.data?.type === 'drain') {
        this.flush();
        this.port.postMessage({ type: 'drained', id: event.data.id });
      }
    };
  }

  process(inputs, outputs) {
    const input = inputs[0];
    const output = outputs[0];
    const frames = output[0].length;
    const mono = new Float32Array(frames);
    if (input && input.length > 0) {
      for (let c = 0; c < output.length; c++) output[c].set(input[Math.min(c, input.length - 1)]);
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < input.length; c++) sum += input[c][i];
        mono[i] = sum / input.length;
      }
    }
    for (let i = 0; i < frames; i++) this.sumSquares += mono[i] * mono[i];
    this.levelFrames += frames;
    if (this.levelFrames >= sampleRate / 20) {
      this.port.postMessage({ type: 'level', level: Math.sqrt(this.sumSquares / this.levelFrames) });
      this.sumSquares = 0;
      this.levelFrames = 0;
    }
    if (this.recording) {
      this.batch.push(mono);
      this.batchFrames += frames;
      if (this.batchFrames >= 4096) this.flush();
    }
    return true;
  }

  flush() {
    if (this.batchFrames === 0) return;
    const samples = new Float32Array(this.batchFrames);
    let offset = 0;
    for (const block of this.batch) {
      samples.set(block, offset);
      offset += block.length;
    }
    this.batch = [];
    this.batchFrames = 0;
    this.port.postMessage({ type: 'samples', samples: samples.buffer, sampleRate }, [samples.buffer]);
  }
}

registerProcessor('output-tap', OutputTapProcessor);
