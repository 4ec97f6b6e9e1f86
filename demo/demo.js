// The demo page: gets a ticket from the demo backend route, opens /v3/realtime with it (as the
// `opper-ticket.` subprotocol, or `?ticket=`), streams the microphone as PCM16 at the session's
// input_sample_rate and plays `audio.delta` at its output_sample_rate without gaps.
// Plain browser JavaScript, no build step. `?test=1` records what was sent and played, for the tests.

const MARKER_PROTOCOL = 'opper-realtime.v1';
const TICKET_PROTOCOL_PREFIX = 'opper-ticket.';
const CHUNK_MS = 100;
/** Client-side speech gate ("Send only while I speak"): level threshold and hang time. */
const GATE_LEVEL = 0.02;
const GATE_HOLD_MS = 600;
const GATE_PREROLL_CHUNKS = 3;
/** How far ahead playback starts after an underrun, so the first chunks do not click. */
const PLAYBACK_LEAD_S = 0.06;
const DEMO_TOOLS = [
  {
    name: 'get_time',
    description: "The current date and time in the user's time zone.",
    parameters: { type: 'object', properties: {}, additionalProperties: false },
  },
];

const SPEAKING = 'Speaking…';

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'), model: $('model'), mode: $('mode'), transcripts: $('transcripts'), gate: $('gate'),
  queryTicket: $('queryTicket'), breakIt: $('breakIt'), startModel: $('startModel'), replay: $('replay'),
  connect: $('connect'), hangup: $('hangup'), boundModel: $('boundModel'), protocol: $('protocol'),
  sessionId: $('sessionId'), rates: $('rates'), micLevel: $('micLevel'), outLevel: $('outLevel'),
  banner: $('banner'), conversation: $('conversation'), emptyHint: $('emptyHint'), talk: $('talk'),
  translateField: $('translateField'), translateTo: $('translateTo'),
  textForm: $('textForm'), text: $('text'), send: $('send'), log: $('log'), clearLog: $('clearLog'),
};

const params = new URLSearchParams(location.search);
const TEST = params.get('test') === '1';
const t0 = performance.now();

/** Filled only with `?test=1`: what went out, what came back, what was rendered. */
const recorder = TEST ? { sent: [], received: [], played: [], playedRate: 0, events: [], closes: [] } : null;

let models = [];
/** The last ticket minted for this page (kept so the replay button can show it is single-use). */
let lastTicket = null;
/** The live connection, or null. */
let call = null;
let engine = null;

// ── audio ────────────────────────────────────────────────────────────────────────────────────

class AudioEngine {
  static async create() {
    const ctx = new AudioContext({ latencyHint: 'interactive' });
    await ctx.resume();
    await Promise.all([
      ctx.audioWorklet.addModule('/demo/assets/capture-worklet.js'),
      ctx.audioWorklet.addModule('/demo/assets/output-tap-worklet.js'),
    ]);
    const engine = new AudioEngine(ctx);
    try {
      engine.stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (err) {
      engine.micError = err;
    }
    return engine;
  }

  constructor(ctx) {
    this.ctx = ctx;
    this.stream = null;
    this.micError = null;
    this.capture = null;
    this.sources = new Set();
    this.playhead = 0;
    this.onChunk = () => {};
    this.tap = new AudioWorkletNode(ctx, 'output-tap', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
    this.tap.connect(ctx.destination);
    this.tap.port.onmessage = (event) => this.onTapMessage(event.data);
    this.drainWaiters = new Map();
    if (recorder) this.tap.port.postMessage({ type: 'record', on: true });
  }

  /** Starts producing ~100 ms chunks of PCM16 at `rate` from the microphone. */
  startCapture(rate) {
    if (!this.stream || this.capture) return;
    const source = this.ctx.createMediaStreamSource(this.stream);
    this.capture = new AudioWorkletNode(this.ctx, 'capture-processor', {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions: { targetRate: rate, chunkMs: CHUNK_MS },
    });
    // A muted sink keeps the node pulled by the graph without playing the microphone back.
    const mute = this.ctx.createGain();
    mute.gain.value = 0;
    source.connect(this.capture).connect(mute).connect(this.ctx.destination);
    this.capture.port.onmessage = (event) => {
      const { pcm, level, final } = event.data;
      this.onChunk(new Int16Array(pcm), level, final);
    };
  }

  /** Asks the capture worklet for the partial chunk it holds (delivered with `final: true`). */
  flush() {
    this.capture?.port.postMessage({ type: 'flush' });
  }

  /** Queues PCM16 mono at `rate` right after what is already scheduled: no gaps, no overlaps. */
  play(pcm, rate) {
    if (pcm.length === 0) return;
    const buffer = this.ctx.createBuffer(1, pcm.length, rate);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) channel[i] = pcm[i] / (pcm[i] < 0 ? 0x8000 : 0x7fff);
    const source = this.ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.tap);
    const now = this.ctx.currentTime;
    if (this.playhead < now + 0.01) this.playhead = now + PLAYBACK_LEAD_S;
    source.start(this.playhead);
    this.playhead += buffer.duration;
    this.sources.add(source);
    source.onended = () => this.sources.delete(source);
  }

  get playing() {
    return this.sources.size > 0;
  }

  /** Barge-in: drops everything scheduled. */
  stopPlayback() {
    for (const source of this.sources) {
      try { source.stop(); } catch { /* already stopped */ }
    }
    this.sources.clear();
    this.playhead = 0;
  }

  onTapMessage(message) {
    if (message.type === 'level') setMeter(ui.outLevel, message.level);
    if (message.type === 'samples' && recorder) {
      recorder.played.push(new Float32Array(message.samples));
      recorder.playedRate = message.sampleRate;
    }
    if (message.type === 'drained') {
      this.drainWaiters.get(message.id)?.();
      this.drainWaiters.delete(message.id);
    }
  }

  /** Resolves once the tap has handed over every recorded sample. */
  drain() {
    const id = Math.random().toString(36).slice(2);
    return new Promise((resolve) => {
      this.drainWaiters.set(id, resolve);
      this.tap.port.postMessage({ type: 'drain', id });
    });
  }

  async close() {
    this.stopPlayback();
    this.capture?.port.close();
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    await this.ctx.close().catch(() => {});
  }
}

// ── PCM16 / base64 ───────────────────────────────────────────────────────────────────────────

function int16ToBase64(pcm) {
  const bytes = new Uint8Array(pcm.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < pcm.length; i++) view.setInt16(i * 2, pcm[i], true);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function base64ToInt16(base64) {
  const binary = atob(base64);
  const view = new DataView(new ArrayBuffer(binary.length - (binary.length % 2)));
  for (let i = 0; i < view.byteLength; i++) view.setUint8(i, binary.charCodeAt(i));
  const pcm = new Int16Array(view.byteLength / 2);
  for (let i = 0; i < pcm.length; i++) pcm[i] = view.getInt16(i * 2, true);
  return pcm;
}

// ── connection ───────────────────────────────────────────────────────────────────────────────

async function loadModels() {
  try {
    const res = await fetch('/demo/models');
    const body = await res.json();
    models = body.models ?? [];
    ui.model.replaceChildren(...models.map((m) => new Option(m.id, m.id)));
    const wanted = params.get('model');
    ui.model.value = models.some((m) => m.id === wanted) ? wanted : body.default ?? models[0]?.id ?? '';
    if (models.length === 0) showBanner('No realtime model is available on this server.');
  } catch (err) {
    showBanner(`Cannot load the model list: ${err.message}`);
  }
  syncOptions();
}

async function connect() {
  if (call) return;
  clearBanner();
  setControls('connecting');
  setStatus('connecting', 'Getting a ticket…');
  try {
    await ensureEngine();
    const res = await fetch('/demo/ticket', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: ui.model.value }),
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error(`the demo backend refused to mint a ticket: ${body?.error?.message ?? `HTTP ${res.status}`}`);
    lastTicket = body;
    logLine('sys', 'ticket', `bound model ${body.bound.model}, expires ${body.expires_at}`);
    openSocket(body);
  } catch (err) {
    setStatus('error', 'Error');
    showBanner(`Could not connect: ${err.message}`);
    setControls('idle');
    await releaseEngine();
  }
}

async function replayTicket() {
  if (call || !lastTicket) return;
  clearBanner();
  setControls('connecting');
  setStatus('connecting', 'Reusing the ticket…');
  logLine('sys', 'replay', 'reconnecting with a ticket that was already used');
  try {
    await ensureEngine();
  } catch (err) {
    setStatus('error', 'Error');
    showBanner(`Audio could not start: ${err.message}`);
    setControls('idle');
    return;
  }
  openSocket(lastTicket);
}

async function ensureEngine() {
  if (!engine) {
    engine = await AudioEngine.create();
    if (engine.micError) notice(`No microphone (${engine.micError.name}): text only.`, 'bad');
  }
  return engine;
}

async function releaseEngine() {
  const current = engine;
  engine = null;
  await current?.close();
  setMeter(ui.micLevel, 0);
  setMeter(ui.outLevel, 0);
}

function openSocket(ticket) {
  const transport = ui.queryTicket.checked ? 'query' : 'subprotocol';
  const base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${ticket.ws_path}`;
  const url = transport === 'query' ? `${base}?ticket=${encodeURIComponent(ticket.client_secret)}` : base;
  const protocols = transport === 'query' ? [MARKER_PROTOCOL] : [MARKER_PROTOCOL, TICKET_PROTOCOL_PREFIX + ticket.client_secret];
  const ws = new WebSocket(url, protocols);
  call = {
    ws, ticket, transport, opened: false, started: false, terminating: null,
    inputRate: 0, outputRate: 0, talking: false, flushPending: false, turnSamples: 0,
    gateUntil: 0, preroll: [], userBubble: null, assistant: null,
  };
  ui.boundModel.textContent = ticket.bound.model;
  ui.protocol.textContent = '…';
  logLine('sys', 'connect', `${transport === 'query' ? `${base}?ticket=…` : `${base} (ticket in Sec-WebSocket-Protocol)`}`);
  ws.onopen = () => onOpen(ws);
  ws.onmessage = (event) => {
    if (call?.ws !== ws) return;
    let parsed;
    try { parsed = JSON.parse(event.data); } catch { return logLine('in', 'invalid JSON', String(event.data).slice(0, 80), 'error'); }
    onEvent(parsed);
  };
  ws.onclose = (event) => onClose(ws, event);
}

function onOpen(ws) {
  if (call?.ws !== ws) return;
  call.opened = true;
  ui.protocol.textContent = ws.protocol || '(none)';
  ui.replay.disabled = true;
  logLine('sys', 'open', `101 Switching Protocols, protocol "${ws.protocol}"`);
  setStatus('connecting', 'Starting session…');
  const bound = models.find((m) => m.id === call.ticket.bound.model);
  const config = {
    model: ui.startModel.value.trim() || call.ticket.bound.model,
    input_transcription: ui.transcripts.checked,
    output_transcription: ui.transcripts.checked,
  };
  if (bound?.translation) config.translation_target_language = ui.translateTo.value.trim() || 'en-US';
  else config.tools = DEMO_TOOLS;
  const turnTypes = bound?.turn_detection_types ?? [];
  if (ui.mode.value === 'vad') config.turn_detection = { type: 'server_vad', silence_duration_ms: 700 };
  else if (turnTypes.includes('none')) config.turn_detection = { type: 'none' };
  send({ type: 'session.start', config });
}

function onClose(ws, event) {
  if (call?.ws !== ws) return;
  const ended = call;
  call = null;
  recorder?.closes.push({ code: event.code, opened: ended.opened });
  if (!ended.opened) {
    logLine('sys', 'refused', `close ${event.code} before open`, 'error');
    setStatus('error', 'Ticket refused');
    showBanner(
      'Ticket refused or expired: the server turned the WebSocket upgrade down. A browser only sees close code 1006, ' +
        'not the HTTP 401 behind it. Tickets are single-use and short-lived: press Connect for a new one.',
    );
  } else {
    logLine('sys', 'close', `code ${event.code}${event.reason ? ` (${event.reason})` : ''}`);
    if (ended.terminating) {
      setStatus('error', 'Session ended');
      showBanner(`Session ended by the server: ${ended.terminating.code}: ${ended.terminating.message}`, ended.terminating.code === 'idle_timeout' ? 'info' : 'error');
    } else if (event.code === 1000) {
      setStatus('idle', 'Not connected');
    } else {
      setStatus('error', 'Disconnected');
      showBanner(`Connection closed (code ${event.code}).`);
    }
  }
  ui.protocol.textContent = ended.opened ? ui.protocol.textContent : 'refused';
  setControls('idle');
  ui.replay.disabled = !lastTicket;
  void releaseEngine();
}

function hangUp() {
  if (!call) return;
  call.ws.close(1000, 'hang up');
}

function send(event) {
  if (!call || call.ws.readyState !== WebSocket.OPEN) return;
  call.ws.send(JSON.stringify(event));
  if (event.type === 'audio.append') return logLine('out', event.type, '', '', true);
  logLine('out', event.type, summarize(event));
}

// ── server events ────────────────────────────────────────────────────────────────────────────

function onEvent(event) {
  recorder?.events.push(event.type === 'audio.delta' ? { type: event.type } : event);
  const cls = event.type === 'error' || event.type === 'session.terminating' ? 'error' : '';
  logLine('in', event.type, summarize(event), cls, event.type === 'audio.delta');
  switch (event.type) {
    case 'session.started':
      call.started = true;
      call.inputRate = event.input_sample_rate;
      call.outputRate = event.output_sample_rate;
      ui.sessionId.textContent = event.session_id;
      ui.rates.textContent = `in ${event.input_sample_rate / 1000} kHz · out ${event.output_sample_rate / 1000} kHz · ${event.audio_format}`;
      setStatus('live', 'Live');
      setControls('live');
      if (engine) {
        engine.onChunk = onChunk;
        engine.startCapture(call.inputRate);
      }
      break;
    case 'audio.delta': {
      const pcm = base64ToInt16(event.audio);
      recorder?.received.push(pcm);
      engine?.play(pcm, call.outputRate);
      assistantBubble().addAudio(pcm.length / call.outputRate);
      break;
    }
    case 'text.delta':
      assistantBubble().addText(event.delta);
      break;
    case 'transcript.committed':
      userTranscript(event.transcript);
      break;
    case 'speech.started':
      engine?.stopPlayback();
      if (ui.mode.value === 'vad') call.userBubble = bubble('user', 'You', SPEAKING);
      break;
    case 'speech.stopped':
      if (call.userBubble?.dataset.pending) call.userBubble.querySelector('.text').textContent = 'Voice message';
      break;
    case 'response.started':
      call.assistant = null;
      break;
    case 'response.completed':
      call.assistant = null;
      break;
    case 'tool.call':
      onToolCall(event);
      break;
    case 'error':
      onErrorEvent(event.error ?? {});
      break;
    case 'session.terminating':
      call.terminating = event.error ?? { code: 'unknown', message: '' };
      break;
  }
}

function onErrorEvent(error) {
  if (error.code === 'field_locked') {
    const field = /config\.(\w+)/.exec(error.message ?? '')?.[1] ?? 'a field';
    notice(`Locked (field_locked): ${field} is set by the ticket (${field === 'model' ? call.ticket.bound.model : 'server value'}) and cannot be changed from the page.`);
    return;
  }
  notice(`${error.code}: ${error.message}`, 'bad');
}

function onToolCall(event) {
  let args = event.tool_arguments;
  try { args = JSON.stringify(JSON.parse(event.tool_arguments), null, 0); } catch { /* shown as sent */ }
  const item = document.createElement('li');
  item.className = 'tool';
  item.innerHTML = '<span class="who">Tool call</span><b></b><pre></pre>';
  item.querySelector('b').textContent = `${event.tool_name}(${args})`;
  appendItem(item);
  // The page is the client here: it answers the demo tool; the server then lets the model continue.
  const result = event.tool_name === 'get_time'
    ? { time: new Date().toLocaleString(), time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone }
    : { error: `The demo page has no tool named ${event.tool_name}` };
  item.querySelector('pre').textContent = `→ ${JSON.stringify(result)}`;
  send({ type: 'tool.result', tool_call_id: event.tool_call_id, tool_result: result });
}

// ── microphone → audio.append ────────────────────────────────────────────────────────────────

function onChunk(pcm, level, final) {
  setMeter(ui.micLevel, level);
  if (!call?.started) return;
  if (final) {
    if (!call.flushPending) return;
    call.flushPending = false;
    sendAudio(pcm);
    finishTurn();
    return;
  }
  if (ui.mode.value === 'ptt') {
    if (call.talking) sendAudio(pcm);
    return;
  }
  if (!ui.gate.checked) return sendAudio(pcm);
  // Hands-free behind a client-side gate: loopback's server VAD hears every frame as speech, so
  // the page stops sending in silence (and while the reply plays, so it does not hear itself).
  const now = performance.now();
  if (engine?.playing) {
    call.preroll = [];
    call.gateUntil = 0;
    return;
  }
  if (level >= GATE_LEVEL) call.gateUntil = now + GATE_HOLD_MS;
  if (now < call.gateUntil) {
    for (const held of call.preroll.splice(0)) sendAudio(held);
    sendAudio(pcm);
  } else {
    call.preroll.push(pcm);
    if (call.preroll.length > GATE_PREROLL_CHUNKS) call.preroll.shift();
  }
}

function sendAudio(pcm) {
  if (pcm.length === 0) return;
  recorder?.sent.push(pcm);
  call.turnSamples += pcm.length;
  send({ type: 'audio.append', audio: int16ToBase64(pcm) });
}

function startTalk() {
  if (!call?.started || call.talking || call.flushPending || ui.mode.value !== 'ptt') return;
  engine?.stopPlayback();
  call.talking = true;
  call.turnSamples = 0;
  ui.talk.setAttribute('aria-pressed', 'true');
  ui.talk.textContent = 'Release to send';
  call.userBubble = bubble('user', 'You', SPEAKING);
}

function stopTalk() {
  if (!call?.talking) return;
  call.talking = false;
  call.flushPending = true;
  ui.talk.setAttribute('aria-pressed', 'false');
  ui.talk.textContent = 'Hold to talk';
  engine?.flush();
}

function finishTurn() {
  const seconds = call.turnSamples / call.inputRate;
  if (call.turnSamples === 0) {
    call.userBubble?.remove();
    return notice('Nothing was recorded: hold the button while you speak.', 'bad');
  }
  if (call.userBubble) call.userBubble.querySelector('.text').textContent = `Voice message · ${seconds.toFixed(1)} s`;
  send({ type: 'audio.commit' });
  // loopback/echo answers a commit by itself; real models with turn_detection "none" wait for this.
  if (!call.ticket.bound.model.startsWith('loopback/')) send({ type: 'response.create' });
}

function sendText(text) {
  if (!call?.started || !text.trim()) return;
  engine?.stopPlayback();
  bubble('user', 'You', text);
  send({ type: 'text.input', text });
  send({ type: 'response.create' });
}

// ── conversation view ────────────────────────────────────────────────────────────────────────

function appendItem(item) {
  ui.emptyHint?.remove();
  ui.conversation.append(item);
  ui.conversation.scrollTop = ui.conversation.scrollHeight;
  return item;
}

function bubble(kind, who, text) {
  const item = document.createElement('li');
  item.className = kind;
  item.innerHTML = '<span class="who"></span><span class="text"></span>';
  item.querySelector('.who').textContent = who;
  item.querySelector('.text').textContent = text;
  if (text === SPEAKING) item.dataset.pending = '1';
  return appendItem(item);
}

function userTranscript(transcript) {
  const pending = [...ui.conversation.querySelectorAll('li.user')].reverse().find((li) => li.dataset.pending);
  const item = pending ?? bubble('user', 'You', '');
  delete item.dataset.pending;
  const audio = item.querySelector('.text').textContent;
  item.querySelector('.text').textContent = transcript;
  if (audio.startsWith('Voice message')) {
    const chip = document.createElement('span');
    chip.className = 'audio-chip';
    chip.textContent = audio;
    item.append(chip);
  }
}

function assistantBubble() {
  if (call.assistant) return call.assistant;
  const item = bubble('assistant', call.ticket.bound.model.startsWith('loopback/') ? 'Echo' : 'Assistant', '');
  const chip = document.createElement('span');
  chip.className = 'audio-chip';
  chip.hidden = true;
  item.append(chip);
  let seconds = 0;
  call.assistant = {
    addText(delta) {
      item.querySelector('.text').textContent += delta;
      ui.conversation.scrollTop = ui.conversation.scrollHeight;
    },
    addAudio(duration) {
      seconds += duration;
      chip.hidden = false;
      chip.textContent = `Played ${seconds.toFixed(1)} s of audio`;
      ui.conversation.scrollTop = ui.conversation.scrollHeight;
    },
  };
  return call.assistant;
}

function notice(text, kind = '') {
  const item = document.createElement('li');
  item.className = `notice ${kind}`.trim();
  item.textContent = text;
  appendItem(item);
}

// ── event log, status, controls ──────────────────────────────────────────────────────────────

function summarize(event) {
  switch (event.type) {
    case 'session.start': return JSON.stringify(event.config);
    case 'session.started': return `${event.session_id} in ${event.input_sample_rate} out ${event.output_sample_rate}`;
    case 'text.delta': return JSON.stringify(event.delta);
    case 'text.input': return JSON.stringify(event.text);
    case 'transcript.committed': return JSON.stringify(event.transcript);
    case 'tool.call': return `${event.tool_name} ${event.tool_arguments}`;
    case 'tool.result': return JSON.stringify(event.tool_result);
    case 'error':
    case 'session.terminating': return `${event.error?.code}: ${event.error?.message}`;
    case 'usage': return JSON.stringify(event.usage ?? event);
    default: return '';
  }
}

function logLine(dir, type, detail = '', cls = '', collapse = false) {
  const last = ui.log.lastElementChild;
  if (collapse && last?.dataset.key === `${dir}:${type}`) {
    const count = Number(last.dataset.count) + 1;
    last.dataset.count = String(count);
    last.querySelector('.detail').textContent = `×${count}`;
    return;
  }
  const item = document.createElement('li');
  if (cls) item.className = cls;
  item.dataset.key = `${dir}:${type}`;
  item.dataset.count = '1';
  item.innerHTML = '<span class="t"></span><span class="dir"></span><span><span class="type"></span> <span class="detail"></span></span>';
  item.querySelector('.t').textContent = ((performance.now() - t0) / 1000).toFixed(2);
  const arrow = item.querySelector('.dir');
  arrow.textContent = dir === 'in' ? '↓' : dir === 'out' ? '↑' : '•';
  arrow.classList.add(dir === 'in' ? 'in' : dir === 'out' ? 'out' : 'sys');
  item.querySelector('.type').textContent = type;
  item.querySelector('.detail').textContent = detail.length > 160 ? `${detail.slice(0, 160)}…` : detail;
  ui.log.append(item);
  while (ui.log.childElementCount > 400) ui.log.firstElementChild.remove();
  ui.log.scrollTop = ui.log.scrollHeight;
}

function setStatus(state, text) {
  ui.status.dataset.state = state;
  ui.status.textContent = text;
}

function showBanner(text, kind = 'error') {
  ui.banner.textContent = text;
  ui.banner.dataset.kind = kind;
  ui.banner.hidden = false;
}

function clearBanner() {
  ui.banner.hidden = true;
  ui.banner.textContent = '';
}

function setMeter(bar, level) {
  bar.style.width = `${Math.min(100, Math.round(Math.sqrt(level) * 160))}%`;
}

function setControls(state) {
  const live = state === 'live';
  const idle = state === 'idle';
  ui.connect.disabled = !idle || models.length === 0;
  ui.hangup.disabled = idle;
  for (const input of [ui.model, ui.mode, ui.transcripts, ui.gate, ui.queryTicket, ui.startModel, ui.translateTo]) input.disabled = !idle;
  ui.talk.disabled = !live || ui.mode.value !== 'ptt';
  ui.text.disabled = !live;
  ui.send.disabled = !live;
  if (idle) syncOptions();
  ui.talk.textContent = ui.mode.value === 'ptt' ? 'Hold to talk' : live ? 'Listening…' : 'Hands-free';
}

/** The client-side gate only matters hands-free; it is on by default for loopback models. */
function syncOptions() {
  ui.gate.disabled = ui.mode.value !== 'vad';
  ui.translateField.hidden = !models.find((m) => m.id === ui.model.value)?.translation;
  if (!ui.gate.dataset.touched) ui.gate.checked = ui.model.value.startsWith('loopback/');
}

// ── wiring ───────────────────────────────────────────────────────────────────────────────────

function applyParams() {
  if (params.get('transport') === 'query') ui.queryTicket.checked = true;
  if (params.get('mode') === 'vad') ui.mode.value = 'vad';
  if (params.get('transcripts') === '0') ui.transcripts.checked = false;
  const startModel = params.get('start_model');
  if (startModel) {
    ui.startModel.value = startModel;
    ui.breakIt.open = true;
  }
}

ui.connect.addEventListener('click', () => void connect());
ui.replay.addEventListener('click', () => void replayTicket());
ui.hangup.addEventListener('click', hangUp);
ui.clearLog.addEventListener('click', () => ui.log.replaceChildren());
ui.mode.addEventListener('change', () => setControls(call ? (call.started ? 'live' : 'connecting') : 'idle'));
ui.model.addEventListener('change', syncOptions);
ui.gate.addEventListener('change', () => { ui.gate.dataset.touched = '1'; });
ui.talk.addEventListener('pointerdown', (event) => {
  ui.talk.setPointerCapture?.(event.pointerId);
  startTalk();
});
for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) ui.talk.addEventListener(type, stopTalk);
document.addEventListener('keydown', (event) => {
  if (event.code !== 'Space' || event.repeat || event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
  event.preventDefault();
  startTalk();
});
document.addEventListener('keyup', (event) => {
  if (event.code === 'Space') stopTalk();
});
ui.textForm.addEventListener('submit', (event) => {
  event.preventDefault();
  sendText(ui.text.value);
  ui.text.value = '';
});

if (!window.isSecureContext) {
  showBanner('The microphone and AudioWorklet need a secure context: open this page over https:// or on http://localhost.');
}

// Test hooks (only with ?test=1): what the page sent, received and actually rendered.
if (recorder) {
  window.realtimeDemo = {
    recorder,
    get connected() { return Boolean(call?.opened); },
    get protocol() { return call?.ws.protocol ?? null; },
    async snapshot() {
      await engine?.drain();
      const concat = (chunks, Type) => {
        const out = new Type(chunks.reduce((n, c) => n + c.length, 0));
        let offset = 0;
        for (const c of chunks) { out.set(c, offset); offset += c.length; }
        return out;
      };
      const b64 = (typed) => {
        const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
        let binary = '';
        for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return btoa(binary);
      };
      return {
        sent: b64(concat(recorder.sent, Int16Array)),
        received: b64(concat(recorder.received, Int16Array)),
        played: b64(concat(recorder.played, Float32Array)),
        playedRate: recorder.playedRate,
        contextRate: engine?.ctx.sampleRate ?? 0,
        inputRate: call?.inputRate ?? 0,
        outputRate: call?.outputRate ?? 0,
      };
    },
  };
}

applyParams();
setControls('idle');
await loadModels();
setControls('idle');
