// A wire-faithful fake of the OpenAI Realtime API (GA), offline (docs/providers.md §1, checklist §6).
//
// The GA-style machinery (conversation, input buffer, energy VAD on the real audio, streamed
// responses, one active response, cancel) is in `GaStyleFakeServer`, which the xAI fake extends
// with its own dialect (xai-fake.ts). What this fake enforces, like the real server:
//   - path `/v1/realtime` with `?model=`; `Authorization: Bearer <key>` or the browser subprotocols
//     `realtime` + `openai-insecure-api-key.<key>` (selects `realtime`); a bad key → HTTP 401 with
//     the OpenAI error body (or, `authFailure: 'close3000'`, upgrade then close 3000);
//   - an `OpenAI-Beta` header → upgrade, then close 4000 `beta_api_shape_disabled`;
//   - `session.created` first, unprompted; `session.update` needs `session.type` (else
//     `missing_required_parameter`), every key must exist in the GA session shape (else
//     `unknown_parameter`, e.g. beta `modalities` or `temperature`), values are checked
//     (`invalid_value`); the merged config comes back in `session.updated`;
//   - commit of less than 100 ms (4800 bytes) → `input_audio_buffer_commit_empty`; one active
//     response (`conversation_already_has_active_response`); cancel with none →
//     `response_cancel_not_active`; unknown client event types → `invalid_value` on `type`;
//   - real event orders (§1.3) with `event_`/`resp_`/`item_`/`call_`/`sess_`/`conv_` ids,
//     `obfuscation` on transcript deltas, usage in `response.done.response.usage`.
// Scripting for tests: fake ASR (`transcribe`), replies derived from the input (the committed audio
// comes back at half volume; text gets a tone), a function call when the user asks for something
// a tool is named after (e.g. "weather" → `get_weather`), `stallAfterAudioDeltas` to freeze a
// response mid-stream, `injectError`, `expireSession` (session_expired + close 1001), `close`.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type {
  RealtimeAudioInputTurnDetection,
  RealtimeServerEvent,
  RealtimeSessionCreateRequest,
} from 'openai/resources/realtime/realtime';
import WebSocket, { WebSocketServer } from 'ws';

export type Json = Record<string, any>;

export const OPENAI_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', 'cedar'];
export const OPENAI_TRANSCRIPTION_MODELS = [
  'whisper-1',
  'gpt-4o-transcribe',
  'gpt-4o-mini-transcribe',
  'gpt-4o-mini-transcribe-2025-12-15',
  'gpt-4o-transcribe-diarize',
  'gpt-realtime-whisper',
  'gpt-transcribe',
  'gpt-live-transcribe',
];
const REASONING_EFFORTS = ['minimal', 'low', 'medium', 'high', 'xhigh'];

/** What a response is about: the input that triggered it. */
export interface FakeTurnInput {
  kind: 'audio' | 'text' | 'tool_output' | 'none';
  text: string;
  audio?: Buffer;
}

export interface GaFakeOptions {
  /** The key the fake accepts. Default `sk-test`. */
  apiKey?: string;
  /** How a bad key is refused: HTTP 401 at the upgrade (default), or upgrade then close 3000. */
  authFailure?: 'http401' | 'close3000';
  /** Milliseconds between streamed response events. Default 1. */
  streamIntervalMs?: number;
  /** Fake speech recognition of a committed user turn. Default: `"<n> ms of speech"`. */
  transcribe?: (pcm: Buffer, rate: number) => string;
  /** Freeze every response after this many audio deltas (until `release()`, a cancel or a close). */
  stallAfterAudioDeltas?: number;
  /** Never answer `session.update` (a provider that hangs during the handshake). */
  ignoreSessionUpdate?: boolean;
  /** Answer every WebSocket upgrade this many ms late: a provider's connect time (warm upstreams). */
  upgradeDelayMs?: number;
}

export interface ReceivedUpgrade {
  url: string;
  headers: IncomingMessage['headers'];
  protocol: string;
}

interface Item extends Json {
  id: string;
  type: string;
}

interface Step {
  kind: 'audio' | 'other';
  make: () => Json | undefined;
}

class ResponseRun {
  readonly steps: Step[] = [];
  index = 0;
  audioDeltas = 0;
  timer: NodeJS.Timeout | undefined;
  stalled = false;
  finished = false;
  /** The output item currently streaming (for a cancel's output_item.done). */
  openItem: Item | undefined;
  readonly output: Item[] = [];
  /** The spoken/written answer (for usage). */
  text = '';
  constructor(
    readonly id: string,
    readonly input: FakeTurnInput,
  ) {}
}

export function newFakeId(prefix: string, length = 22): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return `${prefix}_${out}`;
}

// ── one connection ──────────────────────────────────────────────────────────────────────────────

export class FakeConnection {
  /** Every client message, parsed, in order. */
  readonly received: Json[] = [];
  /** Every server event sent, in order. */
  readonly sent: Json[] = [];
  /** The session as the server has it (the last `session.updated` payload). */
  session: Json;
  readonly conversation: Item[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  closeInfo: { code: number; reason: string } | undefined;

  private buffer: Buffer[] = [];
  private bufferBytes = 0;
  /** Total ms of audio appended so far (the VAD clock). */
  private audioClockMs = 0;
  private speaking = false;
  private speechItemId = '';
  private silenceRunMs = 0;
  private active: ResponseRun | undefined;
  private audioOutputSent = false;
  private stallAfter: number | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly server: GaStyleFakeServer,
    readonly ws: WebSocket,
    readonly upgrade: ReceivedUpgrade,
    readonly model: string,
  ) {
    this.session = server.initialSession(this);
    this.stallAfter = server.options.stallAfterAudioDeltas;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        this.stopAll();
        this.wake();
        resolve(this.closeInfo);
      });
    });
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
  }

  // ── scripting ──

  /** Client messages of `type`. */
  ofType(type: string): Json[] {
    return this.received.filter((m) => m.type === type);
  }

  /** Resolves with the first client message (from index `from`) matching, waiting if needed. */
  waitFor(predicate: (m: Json) => boolean, what = 'a client message', timeoutMs = 5000, from = 0): Promise<Json> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.received.slice(from).find(predicate);
        if (found) {
          done();
          resolve(found);
          return true;
        }
        if (this.closeInfo) {
          done();
          reject(new Error(`fake: socket closed before ${what}; received ${this.describe()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`fake: timed out waiting for ${what}; received ${this.describe()}`));
      }, timeoutMs);
      const waiter = () => void check();
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      if (!check()) this.waiters.add(waiter);
    });
  }

  waitForType(type: string, timeoutMs = 5000, from = 0): Promise<Json> {
    return this.waitFor((m) => m.type === type, `"${type}"`, timeoutMs, from);
  }

  /** Freeze responses after `n` audio deltas (undefined: stream freely). */
  stallResponsesAfter(n: number | undefined): void {
    this.stallAfter = n;
  }

  /** Resume a stalled response. */
  release(): void {
    this.stallAfter = undefined;
    const run = this.active;
    if (run?.stalled) {
      run.stalled = false;
      this.schedule(run);
    }
  }

  /** Whether a response is currently running (streaming or stalled). */
  get responding(): boolean {
    return this.active !== undefined;
  }

  get activeResponseStalled(): boolean {
    return this.active?.stalled === true;
  }

  /** Sends a provider `error` event (non-fatal on the real server). */
  injectError(error: { code: string; message: string; type?: string; param?: string | null }): void {
    this.sendEvent({
      type: 'error',
      event_id: this.eventId(),
      error: { type: error.type ?? 'invalid_request_error', code: error.code, message: error.message, param: error.param ?? null, event_id: null },
    });
  }

  /** The real 60-minute limit, now: `session_expired`, then close 1001. */
  expireSession(): void {
    const message = 'Your session hit the maximum duration of 60 minutes.';
    this.injectError({ code: 'session_expired', message });
    this.close(1001, message);
  }

  /** Closes the socket from the server side. */
  close(code = 1011, reason = 'Internal error'): void {
    this.stopAll();
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
  }

  /** Cuts the TCP connection without a close frame (the client sees 1006). */
  terminate(): void {
    this.stopAll();
    this.ws.terminate();
  }

  describe(): string {
    return JSON.stringify(this.received.map((m) => (m.type === 'input_audio_buffer.append' ? { type: m.type } : m))).slice(0, 3000);
  }

  // ── plumbing ──

  sendEvent(event: Json): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.sent.push(event);
    this.ws.send(JSON.stringify(event));
  }

  /** A GA event: typed with the `openai` package (extra wire fields such as `obfuscation` allowed). */
  sendGa(event: RealtimeServerEvent & Json): void {
    this.sendEvent(event);
  }

  eventId(): string {
    return this.server.eventId();
  }

  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    this.timers.add(timer);
  }

  private stopAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.active?.timer) clearTimeout(this.active.timer);
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  error(code: string, message: string, param: string | null = null, clientEventId: string | null = null): void {
    const { type, code: wireCode } = this.server.errorShape(code);
    this.sendEvent({ type: 'error', event_id: this.eventId(), error: { type, code: wireCode, message, param, event_id: clientEventId } });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    let message: Json;
    try {
      if (isBinary) throw new Error('binary');
      message = JSON.parse(data.toString('utf8'));
      if (typeof message !== 'object' || message === null || Array.isArray(message)) throw new Error('not an object');
    } catch {
      this.received.push({ type: '<unparseable>', raw: data.toString('utf8').slice(0, 200) });
      this.wake();
      this.error('invalid_json', "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)");
      return;
    }
    this.received.push(message);
    this.wake();
    const eventId = typeof message.event_id === 'string' ? message.event_id : null;
    if (typeof message.type !== 'string') return this.error('missing_required_parameter', "Missing required parameter: 'type'.", 'type', eventId);
    switch (message.type) {
      case 'session.update':
        return this.onSessionUpdate(message, eventId);
      case 'input_audio_buffer.append':
        return this.onAppend(message, eventId);
      case 'input_audio_buffer.commit':
        return this.onCommit(eventId);
      case 'input_audio_buffer.clear':
        this.buffer = [];
        this.bufferBytes = 0;
        this.sendEvent({ type: 'input_audio_buffer.cleared', event_id: this.eventId() });
        return;
      case 'conversation.item.create':
        return this.onItemCreate(message, eventId);
      case 'response.create':
        return this.onResponseCreate(eventId);
      case 'response.cancel':
        return this.onResponseCancel(message, eventId);
      default:
        if (this.server.extraClientEventTypes().includes(message.type)) return;
        return this.error(
          'invalid_value',
          `Invalid value: '${String(message.type).slice(0, 64)}'. Supported values are: 'session.update', 'input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear', 'conversation.item.create', 'conversation.item.truncate', 'conversation.item.delete', 'conversation.item.retrieve', 'response.create', and 'response.cancel'.`,
          'type',
          eventId,
        );
    }
  }

  // ── session.update ──

  private onSessionUpdate(message: Json, eventId: string | null): void {
    if (this.server.options.ignoreSessionUpdate) return;
    if (this.server.dropOnSessionUpdate > 0) {
      // The connection breaks as the session configures it (a warm socket that died at hand-out).
      this.server.dropOnSessionUpdate -= 1;
      return this.terminate();
    }
    const session = message.session;
    if (typeof session !== 'object' || session === null || Array.isArray(session)) {
      return this.error('missing_required_parameter', "Missing required parameter: 'session'.", 'session', eventId);
    }
    const problem = this.server.validateSession(session, this);
    if (problem) return this.error(problem.code, problem.message, problem.param ?? null, eventId);
    const voiceBefore = this.server.voiceOf(this.session);
    const merged = deepMerge(this.session, this.server.normalizeSession(session));
    if (this.audioOutputSent && this.server.voiceOf(merged) !== voiceBefore) {
      return this.error('cannot_update_voice', 'Cannot update a conversation\'s voice if assistant audio is present.', 'session.audio.output.voice', eventId);
    }
    this.session = merged;
    this.sendEvent({ type: 'session.updated', event_id: this.eventId(), session: structuredClone(this.session) });
  }

  // ── input audio ──

  get inputRate(): number {
    return this.server.inputRateOf(this.session);
  }

  private onAppend(message: Json, eventId: string | null): void {
    if (typeof message.audio !== 'string') return this.error('missing_required_parameter', "Missing required parameter: 'audio'.", 'audio', eventId);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(message.audio)) return this.error('invalid_value', 'Invalid base64 audio.', 'audio', eventId);
    const pcm = Buffer.from(message.audio, 'base64');
    this.buffer.push(pcm);
    this.bufferBytes += pcm.length;
    this.runVad(pcm);
  }

  /** Energy VAD on the audio clock (not wall time), in 10 ms frames. */
  private runVad(pcm: Buffer): void {
    const vad = this.server.vadOf(this.session);
    const rate = this.inputRate;
    const frameSamples = Math.max(1, Math.round(rate / 100));
    const samples = pcm.length >> 1;
    for (let start = 0; start < samples; start += frameSamples) {
      const end = Math.min(samples, start + frameSamples);
      let sum = 0;
      for (let i = start; i < end; i++) {
        const v = pcm.readInt16LE(i * 2) / 32768;
        sum += v * v;
      }
      const rms = Math.sqrt(sum / Math.max(1, end - start));
      this.audioClockMs += ((end - start) / rate) * 1000;
      if (!vad) continue;
      if (rms > vad.threshold * 0.1) {
        this.silenceRunMs = 0;
        if (!this.speaking) {
          this.speaking = true;
          this.speechItemId = newFakeId('item');
          if (this.active && vad.interruptResponse) this.cancelActive('turn_detected');
          this.sendEvent({
            type: 'input_audio_buffer.speech_started',
            event_id: this.eventId(),
            audio_start_ms: Math.max(0, Math.round(this.audioClockMs - vad.prefixPaddingMs)),
            item_id: this.speechItemId,
          });
        }
      } else if (this.speaking) {
        this.silenceRunMs += ((end - start) / rate) * 1000;
        if (this.silenceRunMs >= vad.silenceDurationMs) {
          this.speaking = false;
          this.sendEvent({
            type: 'input_audio_buffer.speech_stopped',
            event_id: this.eventId(),
            audio_end_ms: Math.round(this.audioClockMs),
            item_id: this.speechItemId,
          });
          this.commitBuffer(this.speechItemId);
          if (vad.createResponse && !this.active) this.startResponse(this.lastInput());
        }
      }
    }
  }

  private onCommit(eventId: string | null): void {
    const minBytes = Math.round((this.inputRate * 2) / 10); // 100 ms of PCM16 mono
    if (this.bufferBytes < minBytes) {
      const ms = ((this.bufferBytes / 2 / this.inputRate) * 1000).toFixed(2);
      return this.error(
        'input_audio_buffer_commit_empty',
        `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${ms}ms of audio.`,
        null,
        eventId,
      );
    }
    this.commitBuffer(newFakeId('item'));
  }

  private commitBuffer(itemId: string): void {
    const audio = Buffer.concat(this.buffer, this.bufferBytes);
    this.buffer = [];
    this.bufferBytes = 0;
    const previous = this.conversation.at(-1)?.id ?? null;
    this.sendEvent({ type: 'input_audio_buffer.committed', event_id: this.eventId(), previous_item_id: previous, item_id: itemId });
    const item: Item = {
      id: itemId,
      object: 'realtime.item',
      type: 'message',
      status: 'completed',
      role: 'user',
      content: [{ type: 'input_audio', transcript: null }],
      _audio: audio,
    };
    this.addItem(item, previous);
    const transcription = this.server.transcriptionOf(this.session);
    if (transcription) {
      const transcript = (this.server.options.transcribe ?? defaultTranscribe)(audio, this.inputRate);
      item._transcript = transcript;
      this.server.sendInputTranscription(this, itemId, transcript, audio.length / 2 / this.inputRate);
    }
  }

  private addItem(item: Item, previous: string | null): void {
    this.conversation.push(item);
    const wire = publicItem(item);
    this.sendEvent({ type: 'conversation.item.added', event_id: this.eventId(), previous_item_id: previous, item: wire });
    if (this.server.sendsItemDone()) this.sendEvent({ type: 'conversation.item.done', event_id: this.eventId(), previous_item_id: previous, item: wire });
  }

  // ── conversation.item.create ──

  private onItemCreate(message: Json, eventId: string | null): void {
    const item = message.item;
    if (typeof item !== 'object' || item === null) return this.error('missing_required_parameter', "Missing required parameter: 'item'.", 'item', eventId);
    const problem = this.server.validateItem(item);
    if (problem) return this.error(problem.code, problem.message, problem.param ?? null, eventId);
    if (item.type === 'force_message') return this.server.forceMessage(this, item);
    const stored: Item = { ...structuredClone(item), id: typeof item.id === 'string' ? item.id : newFakeId('item'), object: 'realtime.item', status: 'completed' };
    this.addItem(stored, this.conversation.at(-1)?.id ?? null);
  }

  // ── responses ──

  private onResponseCreate(eventId: string | null): void {
    if (this.active) {
      if (this.server.responseCreateWhileActive() === 'cancel-previous') {
        this.cancelActive('client_cancelled');
      } else {
        return this.error(
          'conversation_already_has_active_response',
          `Conversation already has an active response in progress: ${this.active.id}. Wait until the response is finished before creating a new one.`,
          null,
          eventId,
        );
      }
    }
    this.startResponse(this.lastInput());
  }

  private onResponseCancel(message: Json, eventId: string | null): void {
    if (!this.active || (typeof message.response_id === 'string' && message.response_id !== this.active.id)) {
      const { code, message: text } = this.server.cancelNotActiveError();
      return this.error(code, text, null, eventId);
    }
    this.cancelActive('client_cancelled');
  }

  /** What the next response answers: the items since the last assistant output. */
  lastInput(): FakeTurnInput {
    const last = this.conversation.at(-1);
    if (!last) return { kind: 'none', text: '' };
    if (last.type === 'function_call_output') return { kind: 'tool_output', text: String(last.output) };
    if (last.type === 'message' && last.role === 'user') {
      const parts = (last.content ?? []) as Json[];
      const audioPart = parts.find((p) => p.type === 'input_audio');
      if (audioPart) {
        const audio = last._audio as Buffer | undefined;
        return { kind: 'audio', text: (last._transcript as string | undefined) ?? '', audio: audio ?? Buffer.from(audioPart.audio ?? '', 'base64') };
      }
      const text = parts.filter((p) => p.type === 'input_text' && typeof p.text === 'string').map((p) => p.text).join(' ');
      const image = parts.some((p) => p.type === 'input_image');
      return { kind: 'text', text: image ? `${text} [image]`.trim() : text };
    }
    return { kind: 'none', text: '' };
  }

  /** Starts a response: a function call when the input asks for a tool, else a spoken/text answer. */
  startResponse(input: FakeTurnInput, forcedText?: string): void {
    const run = new ResponseRun(newFakeId('resp'), input);
    this.active = run;
    const modalities = this.server.outputModalitiesOf(this.session);
    const tool = forcedText === undefined && (input.kind === 'text' || input.kind === 'audio') ? matchTool(this.server.toolsOf(this.session), input.text) : undefined;
    this.sendGaResponseCreated(run, modalities);
    if (tool) this.planFunctionCall(run, tool, input.text);
    else this.planMessage(run, input, modalities, forcedText);
    run.steps.push({ kind: 'other', make: () => this.finishResponse(run, 'completed') });
    this.schedule(run);
  }

  private sendGaResponseCreated(run: ResponseRun, modalities: string[]): void {
    this.sendEvent({
      type: 'response.created',
      event_id: this.eventId(),
      response: {
        object: 'realtime.response',
        id: run.id,
        status: 'in_progress',
        status_details: null,
        output: [],
        conversation_id: this.server.conversationId(this),
        output_modalities: modalities,
        max_output_tokens: 'inf',
        audio: { output: { format: { type: 'audio/pcm', rate: this.server.outputRateOf(this.session) }, voice: this.server.voiceOf(this.session) } },
        usage: null,
        metadata: null,
      },
    });
    this.server.afterResponseCreated(this, run.id);
  }

  private planFunctionCall(run: ResponseRun, tool: Json, text: string): void {
    const item: Item = {
      id: newFakeId('item'),
      object: 'realtime.item',
      type: 'function_call',
      status: 'in_progress',
      name: tool.name,
      call_id: newFakeId('call'),
      arguments: '',
    };
    const args = JSON.stringify(argumentsFor(tool, text));
    const half = Math.ceil(args.length / 2);
    run.steps.push({
      kind: 'other',
      make: () => {
        run.openItem = item;
        this.sendEvent({ type: 'response.output_item.added', event_id: this.eventId(), response_id: run.id, output_index: 0, item: publicItem(item) });
        this.conversation.push(item);
        this.sendEvent({ type: 'conversation.item.added', event_id: this.eventId(), previous_item_id: this.conversation.at(-2)?.id ?? null, item: publicItem(item) });
        return undefined;
      },
    });
    for (const delta of [args.slice(0, half), args.slice(half)]) {
      run.steps.push({
        kind: 'other',
        make: () => ({ type: 'response.function_call_arguments.delta', event_id: this.eventId(), response_id: run.id, item_id: item.id, output_index: 0, call_id: item.call_id, delta }),
      });
    }
    run.steps.push({
      kind: 'other',
      make: () => {
        item.arguments = args;
        item.status = 'completed';
        this.sendEvent({
          type: 'response.function_call_arguments.done',
          event_id: this.eventId(),
          response_id: run.id,
          item_id: item.id,
          output_index: 0,
          call_id: item.call_id,
          name: item.name,
          arguments: args,
        });
        this.sendEvent({ type: 'response.output_item.done', event_id: this.eventId(), response_id: run.id, output_index: 0, item: publicItem(item) });
        if (this.server.sendsItemDone()) this.sendEvent({ type: 'conversation.item.done', event_id: this.eventId(), previous_item_id: null, item: publicItem(item) });
        run.output.push(item);
        run.openItem = undefined;
        return undefined;
      },
    });
  }

  private planMessage(run: ResponseRun, input: FakeTurnInput, modalities: string[], forcedText?: string): void {
    const text = forcedText ?? replyFor(input);
    const words = text.split(/(?<= )/);
    const audioOut = modalities.includes('audio');
    const item: Item = { id: newFakeId('item'), object: 'realtime.item', type: 'message', status: 'in_progress', role: 'assistant', content: [] };
    const ids = () => ({ response_id: run.id, item_id: item.id, output_index: 0, content_index: 0 });
    run.steps.push({
      kind: 'other',
      make: () => {
        run.openItem = item;
        this.sendEvent({ type: 'response.output_item.added', event_id: this.eventId(), response_id: run.id, output_index: 0, item: publicItem(item) });
        this.conversation.push(item);
        this.sendEvent({ type: 'conversation.item.added', event_id: this.eventId(), previous_item_id: this.conversation.at(-2)?.id ?? null, item: publicItem(item) });
        this.sendEvent({ type: 'response.content_part.added', event_id: this.eventId(), ...ids(), part: audioOut ? { type: 'audio', transcript: '' } : { type: 'text', text: '' } });
        return undefined;
      },
    });
    if (audioOut) {
      const pcm = input.kind === 'audio' && input.audio?.length ? halfVolume(input.audio) : tone(Math.min(2000, 40 * text.length), this.server.outputRateOf(this.session));
      const frameBytes = Math.round((this.server.outputRateOf(this.session) * 2) / 10); // 100 ms
      const frames: Buffer[] = [];
      for (let off = 0; off < pcm.length; off += frameBytes) frames.push(pcm.subarray(off, off + frameBytes));
      const count = Math.max(frames.length, words.length);
      for (let i = 0; i < count; i++) {
        const word = words[i];
        if (word !== undefined) {
          run.steps.push({
            kind: 'other',
            make: () => ({ type: 'response.output_audio_transcript.delta', event_id: this.eventId(), ...ids(), delta: word, obfuscation: randomBytes(4).toString('hex') }),
          });
        }
        const frame = frames[i];
        if (frame) {
          run.steps.push({
            kind: 'audio',
            make: () => {
              this.audioOutputSent = true;
              return { type: 'response.output_audio.delta', event_id: this.eventId(), ...ids(), delta: frame.toString('base64') };
            },
          });
        }
      }
      run.steps.push({
        kind: 'other',
        make: () => {
          this.sendEvent({ type: 'response.output_audio.done', event_id: this.eventId(), ...ids() });
          this.sendEvent({ type: 'response.output_audio_transcript.done', event_id: this.eventId(), ...ids(), transcript: text });
          item.content = [{ type: 'output_audio', transcript: text }];
          this.sendEvent({ type: 'response.content_part.done', event_id: this.eventId(), ...ids(), part: { type: 'audio', transcript: text } });
          return undefined;
        },
      });
    } else {
      for (const word of words) {
        run.steps.push({ kind: 'other', make: () => (this.server.sendTextDelta(this, { ...ids(), delta: word }), undefined) });
      }
      run.steps.push({
        kind: 'other',
        make: () => {
          this.sendEvent({ type: 'response.output_text.done', event_id: this.eventId(), ...ids(), text });
          item.content = [{ type: 'output_text', text }];
          this.sendEvent({ type: 'response.content_part.done', event_id: this.eventId(), ...ids(), part: { type: 'text', text } });
          return undefined;
        },
      });
    }
    run.steps.push({
      kind: 'other',
      make: () => {
        item.status = 'completed';
        this.sendEvent({ type: 'response.output_item.done', event_id: this.eventId(), response_id: run.id, output_index: 0, item: publicItem(item) });
        if (this.server.sendsItemDone()) this.sendEvent({ type: 'conversation.item.done', event_id: this.eventId(), previous_item_id: null, item: publicItem(item) });
        run.output.push(item);
        run.openItem = undefined;
        return undefined;
      },
    });
    run.text = text;
  }

  private schedule(run: ResponseRun): void {
    if (run.finished || run.stalled || this.active !== run) return;
    run.timer = setTimeout(() => this.step(run), this.server.options.streamIntervalMs ?? 1);
  }

  private step(run: ResponseRun): void {
    run.timer = undefined;
    if (run.finished || this.active !== run || this.ws.readyState !== WebSocket.OPEN) return;
    if (this.stallAfter !== undefined && run.audioDeltas >= this.stallAfter) {
      run.stalled = true;
      return;
    }
    const step = run.steps[run.index++];
    if (!step) return;
    const event = step.make();
    if (event) this.sendEvent(event);
    if (step.kind === 'audio') run.audioDeltas += 1;
    this.schedule(run);
  }

  cancelActive(reason: 'client_cancelled' | 'turn_detected'): void {
    const run = this.active;
    if (!run) return;
    if (run.timer) clearTimeout(run.timer);
    if (run.openItem) {
      run.openItem.status = 'incomplete';
      this.sendEvent({ type: 'response.output_item.done', event_id: this.eventId(), response_id: run.id, output_index: 0, item: publicItem(run.openItem) });
      run.output.push(run.openItem);
      run.openItem = undefined;
    }
    this.finishResponse(run, 'cancelled', reason);
  }

  private finishResponse(run: ResponseRun, status: 'completed' | 'cancelled', reason?: string): undefined {
    if (run.finished) return undefined;
    run.finished = true;
    if (this.active === run) this.active = undefined;
    const usage = usageFor(run, this.inputRate);
    const response: Json = {
      object: 'realtime.response',
      id: run.id,
      status,
      status_details: status === 'cancelled' ? { type: 'cancelled', reason } : null,
      output: run.output.map(publicItem),
      conversation_id: this.server.conversationId(this),
      output_modalities: this.server.outputModalitiesOf(this.session),
      max_output_tokens: 'inf',
      audio: { output: { format: { type: 'audio/pcm', rate: this.server.outputRateOf(this.session) }, voice: this.server.voiceOf(this.session) } },
      metadata: null,
    };
    this.server.sendResponseDone(this, response, usage);
    return undefined;
  }
}

// ── the server ──────────────────────────────────────────────────────────────────────────────────

export interface Problem {
  code: string;
  message: string;
  param?: string;
}

/** The GA-style fake: HTTP server + WebSocket upgrade on 127.0.0.1, random port. */
export abstract class GaStyleFakeServer {
  readonly connections: FakeConnection[] = [];
  /** Every upgrade attempt (accepted or refused). */
  readonly upgrades: ReceivedUpgrade[] = [];
  readonly options: GaFakeOptions;
  /** The next this-many connections to receive a `session.update` are cut instead of answering. */
  dropOnSessionUpdate = 0;
  protected readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly connectionWaiters: Array<() => void> = [];
  /** Upgrades held back by `upgradeDelayMs`, let go at close. */
  private readonly delayedUpgrades = new Map<NodeJS.Timeout, Duplex>();
  private port = 0;

  constructor(options: GaFakeOptions = {}) {
    this.options = options;
    this.http = createServer((req, res) => this.onRequest(req, res));
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      handleProtocols: (protocols) => this.selectProtocol([...protocols]),
    });
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve));
    this.port = (this.http.address() as { port: number }).port;
    return this;
  }

  /** `http://127.0.0.1:<port>/v1`: the `baseUrl` for a provider's credentials. */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/v1/realtime`;
  }

  get last(): FakeConnection {
    const conn = this.connections.at(-1);
    if (!conn) throw new Error('fake: no connection yet');
    return conn;
  }

  /** Resolves with connection number `index` (0-based) once it exists. */
  async connection(index = 0, timeoutMs = 5000): Promise<FakeConnection> {
    const deadline = Date.now() + timeoutMs;
    while (!this.connections[index]) {
      if (Date.now() > deadline) throw new Error(`fake: connection ${index} never arrived`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 20);
        this.connectionWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.connections[index];
  }

  async close(): Promise<void> {
    for (const [timer, socket] of this.delayedUpgrades) {
      clearTimeout(timer);
      socket.destroy();
    }
    this.delayedUpgrades.clear();
    for (const conn of this.connections) conn.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  eventId(): string {
    return newFakeId('event');
  }

  // ── dialect: what differs between GA-style providers ──

  /** Non-WebSocket HTTP routes (xAI's client secrets). Default: 404. */
  protected onRequest(_req: IncomingMessage, res: ServerResponse): void {
    sendJson(res, 404, { error: { message: 'Not found', type: 'invalid_request_error', code: 'not_found', param: null } });
  }

  /** Who may connect: undefined when allowed, else how to refuse. */
  protected abstract authenticate(req: IncomingMessage, offered: string[]): { status: number; body: Json } | undefined;
  protected abstract selectProtocol(offered: string[]): string | false;
  /** Called once the socket is open (send `session.created`, …). */
  protected abstract onOpen(conn: FakeConnection, req: IncomingMessage): void;
  abstract initialSession(conn: FakeConnection): Json;
  abstract validateSession(session: Json, conn: FakeConnection): Problem | undefined;
  /** The update as it is merged (e.g. xAI echoes voices as `xai_<voice>`). */
  normalizeSession(session: Json): Json {
    return session;
  }
  abstract voiceOf(session: Json): string;
  abstract vadOf(session: Json): { threshold: number; prefixPaddingMs: number; silenceDurationMs: number; createResponse: boolean; interruptResponse: boolean } | undefined;
  abstract transcriptionOf(session: Json): { model: string } | undefined;
  abstract toolsOf(session: Json): Json[];
  abstract outputModalitiesOf(session: Json): string[];
  abstract inputRateOf(session: Json): number;
  abstract outputRateOf(session: Json): number;
  abstract sendInputTranscription(conn: FakeConnection, itemId: string, transcript: string, seconds: number): void;
  abstract sendTextDelta(conn: FakeConnection, ids: Json): void;
  abstract sendResponseDone(conn: FakeConnection, response: Json, usage: Json): void;
  abstract sendsItemDone(): boolean;
  abstract responseCreateWhileActive(): 'error' | 'cancel-previous';
  abstract cancelNotActiveError(): { code: string; message: string };
  /** Maps a logical error code to the wire `type` and `code`. */
  errorShape(code: string): { type: string; code: string } {
    return { type: 'invalid_request_error', code };
  }
  validateItem(item: Json): Problem | undefined {
    return validateGaItem(item);
  }
  forceMessage(_conn: FakeConnection, _item: Json): void {}
  extraClientEventTypes(): string[] {
    return ['conversation.item.truncate', 'conversation.item.delete', 'conversation.item.retrieve'];
  }
  conversationId(_conn: FakeConnection): string {
    return 'conv_fake';
  }
  afterResponseCreated(_conn: FakeConnection, _responseId: string): void {}

  // ── connection handling ──

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const delay = this.options.upgradeDelayMs ?? 0;
    if (delay <= 0) return this.answerUpgrade(req, socket, head);
    const timer = setTimeout(() => {
      this.delayedUpgrades.delete(timer);
      if (!socket.destroyed) this.answerUpgrade(req, socket, head);
    }, delay);
    this.delayedUpgrades.set(timer, socket);
  }

  private answerUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    this.upgrades.push({ url: req.url ?? '', headers: req.headers, protocol: '' });
    if (url.pathname !== '/v1/realtime') return refuseUpgrade(socket, 404, { error: { message: 'Not found', type: 'invalid_request_error', code: null, param: null } });
    const model = url.searchParams.get('model');
    if (!model && this.requiresModel()) {
      return refuseUpgrade(socket, 400, {
        error: { message: "Missing required parameter: 'model'.", type: 'invalid_request_error', code: 'missing_required_parameter', param: 'model' },
      });
    }
    const refusal = this.authenticate(req, offered);
    if (refusal && !(refusal.status === 401 && this.options.authFailure === 'close3000')) return refuseUpgrade(socket, refusal.status, refusal.body);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (refusal) {
        ws.close(3000, 'invalid_request_error.invalid_api_key');
        return;
      }
      if (req.headers['openai-beta'] !== undefined && this.rejectsBetaHeader()) {
        ws.close(4000, 'beta_api_shape_disabled');
        return;
      }
      const upgrade: ReceivedUpgrade = { url: req.url ?? '', headers: req.headers, protocol: ws.protocol };
      this.upgrades[this.upgrades.length - 1] = upgrade;
      const conn = new FakeConnection(this, ws, upgrade, model ?? this.defaultModel());
      this.connections.push(conn);
      for (const waiter of this.connectionWaiters.splice(0)) waiter();
      this.onOpen(conn, req);
    });
  }

  protected requiresModel(): boolean {
    return true;
  }
  protected defaultModel(): string {
    return 'gpt-realtime';
  }
  protected rejectsBetaHeader(): boolean {
    return true;
  }
}

// ── the OpenAI dialect ──────────────────────────────────────────────────────────────────────────

const GA_SESSION_KEYS = [
  'type',
  'model',
  'instructions',
  'output_modalities',
  'tools',
  'tool_choice',
  'max_output_tokens',
  'parallel_tool_calls',
  'reasoning',
  'truncation',
  'tracing',
  'prompt',
  'include',
  'audio',
] as const satisfies ReadonlyArray<keyof RealtimeSessionCreateRequest>;
const GA_AUDIO_INPUT_KEYS = ['format', 'transcription', 'noise_reduction', 'turn_detection'];
const GA_AUDIO_OUTPUT_KEYS = ['format', 'voice', 'speed'];
const GA_TRANSCRIPTION_KEYS = ['model', 'language', 'prompt', 'delay', 'keywords', 'languages'];
const GA_SERVER_VAD_KEYS = ['type', 'threshold', 'prefix_padding_ms', 'silence_duration_ms', 'idle_timeout_ms', 'create_response', 'interrupt_response'];
const GA_SEMANTIC_VAD_KEYS = ['type', 'eagerness', 'create_response', 'interrupt_response'];
const GA_FUNCTION_TOOL_KEYS = ['type', 'name', 'description', 'parameters'];

export class OpenAiFake extends GaStyleFakeServer {
  get apiKey(): string {
    return this.options.apiKey ?? 'sk-test';
  }

  protected authenticate(req: IncomingMessage, offered: string[]): { status: number; body: Json } | undefined {
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const insecure = offered.find((p) => p.startsWith('openai-insecure-api-key.'))?.slice('openai-insecure-api-key.'.length);
    if (bearer === this.apiKey || insecure === this.apiKey) return undefined;
    const message = bearer || insecure
      ? `Incorrect API key provided: ${redact(bearer ?? insecure ?? '')}. You can find your API key at https://platform.openai.com/account/api-keys.`
      : "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";
    return { status: 401, body: { error: { message, type: 'invalid_request_error', code: bearer || insecure ? 'invalid_api_key' : null, param: null } } };
  }

  protected selectProtocol(offered: string[]): string | false {
    return offered.includes('realtime') ? 'realtime' : false;
  }

  protected onOpen(conn: FakeConnection): void {
    conn.sendGa({ type: 'session.created', event_id: this.eventId(), session: conn.session as RealtimeSessionCreateRequest });
  }

  initialSession(conn: FakeConnection): Json {
    return {
      type: 'realtime',
      object: 'realtime.session',
      id: newFakeId('sess'),
      model: conn.model,
      output_modalities: ['audio'],
      instructions: 'Your knowledge cutoff is 2023-10. You are a helpful, witty, and friendly AI.',
      tools: [],
      tool_choice: 'auto',
      max_output_tokens: 'inf',
      tracing: null,
      truncation: 'auto',
      prompt: null,
      expires_at: Math.floor(Date.now() / 1000) + 3600,
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: 24000 },
          transcription: null,
          noise_reduction: null,
          turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 200, idle_timeout_ms: null, create_response: true, interrupt_response: true },
        },
        output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'alloy', speed: 1.0 },
      },
      include: null,
    };
  }

  validateSession(session: Json, conn: FakeConnection): Problem | undefined {
    if (session.type === undefined) return { code: 'missing_required_parameter', message: "Missing required parameter: 'session.type'.", param: 'session.type' };
    if (session.type !== 'realtime') {
      return { code: 'invalid_value', message: `Invalid value: '${session.type}'. Supported values are: 'realtime' and 'transcription'.`, param: 'session.type' };
    }
    const unknown =
      unknownKey(session, GA_SESSION_KEYS, 'session') ??
      unknownKey(session.audio, ['input', 'output'], 'session.audio') ??
      unknownKey(session.audio?.input, GA_AUDIO_INPUT_KEYS, 'session.audio.input') ??
      unknownKey(session.audio?.output, GA_AUDIO_OUTPUT_KEYS, 'session.audio.output') ??
      unknownKey(session.audio?.input?.transcription, GA_TRANSCRIPTION_KEYS, 'session.audio.input.transcription') ??
      unknownKey(session.reasoning, ['effort'], 'session.reasoning');
    if (unknown) return unknown;
    if (session.model !== undefined && session.model !== conn.model) {
      return { code: 'invalid_value', message: 'Cannot update a session\'s model. The model is fixed by the connection URL.', param: 'session.model' };
    }
    if (session.instructions !== undefined && typeof session.instructions !== 'string') return invalidType('session.instructions', 'a string');
    if (session.output_modalities !== undefined) {
      const m = session.output_modalities;
      if (!Array.isArray(m) || m.length !== 1 || !['audio', 'text'].includes(m[0])) {
        return { code: 'invalid_value', message: "Invalid modalities: output_modalities must be ['audio'] or ['text'].", param: 'session.output_modalities' };
      }
    }
    if (session.reasoning?.effort !== undefined && !REASONING_EFFORTS.includes(session.reasoning.effort)) {
      return { code: 'invalid_value', message: `Invalid value: '${session.reasoning.effort}'.`, param: 'session.reasoning.effort' };
    }
    if (session.tools !== undefined) {
      if (!Array.isArray(session.tools)) return invalidType('session.tools', 'an array');
      for (const [i, tool] of session.tools.entries()) {
        if (tool?.type !== 'function' && tool?.type !== 'mcp') {
          return { code: 'invalid_value', message: `Invalid value: '${tool?.type}'. Supported values are: 'function' and 'mcp'.`, param: `session.tools[${i}].type` };
        }
        if (tool.type === 'function') {
          const u = unknownKey(tool, GA_FUNCTION_TOOL_KEYS, `session.tools[${i}]`);
          if (u) return u;
          if (typeof tool.name !== 'string' || !tool.name) return { code: 'missing_required_parameter', message: `Missing required parameter: 'session.tools[${i}].name'.`, param: `session.tools[${i}].name` };
        }
      }
    }
    const input = session.audio?.input;
    const output = session.audio?.output;
    for (const [where, format] of [
      ['session.audio.input.format', input?.format],
      ['session.audio.output.format', output?.format],
    ] as const) {
      if (format === undefined) continue;
      const u = unknownKey(format, ['type', 'rate'], where);
      if (u) return u;
      if (!['audio/pcm', 'audio/pcmu', 'audio/pcma'].includes(format.type)) return { code: 'invalid_value', message: `Invalid value: '${format.type}'.`, param: `${where}.type` };
      if (format.type === 'audio/pcm' && format.rate !== undefined && format.rate !== 24000) {
        return { code: 'invalid_value', message: `Invalid value: ${format.rate}. audio/pcm only supports a rate of 24000.`, param: `${where}.rate` };
      }
    }
    if (input?.transcription !== undefined && input.transcription !== null) {
      if (!OPENAI_TRANSCRIPTION_MODELS.includes(input.transcription.model)) {
        return { code: 'invalid_value', message: `Invalid value: '${input.transcription.model}'. Supported values are: ${OPENAI_TRANSCRIPTION_MODELS.map((m) => `'${m}'`).join(', ')}.`, param: 'session.audio.input.transcription.model' };
      }
    }
    if (input?.turn_detection !== undefined && input.turn_detection !== null) {
      const td = input.turn_detection as RealtimeAudioInputTurnDetection;
      if (td.type !== 'server_vad' && td.type !== 'semantic_vad') {
        return { code: 'invalid_value', message: `Invalid value: '${String((td as Json).type)}'. Supported values are: 'server_vad' and 'semantic_vad'.`, param: 'session.audio.input.turn_detection.type' };
      }
      const u = unknownKey(td, td.type === 'server_vad' ? GA_SERVER_VAD_KEYS : GA_SEMANTIC_VAD_KEYS, 'session.audio.input.turn_detection');
      if (u) return u;
    }
    if (output?.voice !== undefined && typeof output.voice === 'string' && !OPENAI_VOICES.includes(output.voice)) {
      return { code: 'invalid_value', message: `Invalid value: '${output.voice}'. Supported values are: ${OPENAI_VOICES.map((v) => `'${v}'`).join(', ')}.`, param: 'session.audio.output.voice' };
    }
    return undefined;
  }

  voiceOf(session: Json): string {
    const voice = session.audio?.output?.voice;
    return typeof voice === 'string' ? voice : (voice?.id ?? 'alloy');
  }

  vadOf(session: Json) {
    const td = session.audio?.input?.turn_detection;
    if (!td) return undefined;
    const semantic = td.type === 'semantic_vad';
    return {
      threshold: semantic ? 0.5 : (td.threshold ?? 0.5),
      prefixPaddingMs: semantic ? 300 : (td.prefix_padding_ms ?? 300),
      silenceDurationMs: semantic ? 500 : (td.silence_duration_ms ?? 500),
      createResponse: td.create_response !== false,
      interruptResponse: td.interrupt_response !== false,
    };
  }

  transcriptionOf(session: Json): { model: string } | undefined {
    return session.audio?.input?.transcription ?? undefined;
  }

  toolsOf(session: Json): Json[] {
    return Array.isArray(session.tools) ? session.tools : [];
  }

  outputModalitiesOf(session: Json): string[] {
    return session.output_modalities ?? ['audio'];
  }

  inputRateOf(): number {
    return 24000;
  }

  outputRateOf(): number {
    return 24000;
  }

  sendInputTranscription(conn: FakeConnection, itemId: string, transcript: string, seconds: number): void {
    conn.sendGa({ type: 'conversation.item.input_audio_transcription.delta', event_id: this.eventId(), item_id: itemId, content_index: 0, delta: transcript });
    conn.sendGa({
      type: 'conversation.item.input_audio_transcription.completed',
      event_id: this.eventId(),
      item_id: itemId,
      content_index: 0,
      transcript,
      usage: { type: 'duration', seconds: Math.ceil(seconds) },
    });
  }

  sendTextDelta(conn: FakeConnection, ids: Json): void {
    conn.sendEvent({ type: 'response.output_text.delta', event_id: this.eventId(), ...ids });
  }

  sendResponseDone(conn: FakeConnection, response: Json, usage: Json): void {
    conn.sendEvent({ type: 'response.done', event_id: this.eventId(), response: { ...response, usage } });
  }

  override afterResponseCreated(conn: FakeConnection): void {
    conn.sendGa({
      type: 'rate_limits.updated',
      event_id: this.eventId(),
      rate_limits: [
        { name: 'requests', limit: 5000, remaining: 4999, reset_seconds: 0.012 },
        { name: 'tokens', limit: 400000, remaining: 394000, reset_seconds: 0.9 },
      ],
    });
  }

  sendsItemDone(): boolean {
    return true;
  }

  responseCreateWhileActive(): 'error' {
    return 'error';
  }

  cancelNotActiveError() {
    return { code: 'response_cancel_not_active', message: 'Cancellation failed: no active response found' };
  }
}

export async function startOpenAiFake(options: GaFakeOptions = {}): Promise<OpenAiFake> {
  return new OpenAiFake(options).listen();
}

// ── helpers ─────────────────────────────────────────────────────────────────────────────────────

export function sendJson(res: ServerResponse, status: number, body: Json): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function refuseUpgrade(socket: Duplex, status: number, body: Json): void {
  const text = JSON.stringify(body);
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

function redact(key: string): string {
  return key.length <= 8 ? '****' : `${key.slice(0, 3)}*****${key.slice(-4)}`;
}

export function unknownKey(value: unknown, allowed: readonly string[], path: string): Problem | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const extra = Object.keys(value).find((k) => !allowed.includes(k));
  return extra === undefined ? undefined : { code: 'unknown_parameter', message: `Unknown parameter: '${path}.${extra}'.`, param: `${path}.${extra}` };
}

function invalidType(param: string, expected: string): Problem {
  return { code: 'invalid_type', message: `Invalid type for '${param}': expected ${expected}.`, param };
}

function validateGaItem(item: Json): Problem | undefined {
  switch (item.type) {
    case 'message': {
      if (!['user', 'system', 'assistant'].includes(item.role)) return { code: 'invalid_value', message: `Invalid value: '${item.role}'.`, param: 'item.role' };
      if (!Array.isArray(item.content)) return { code: 'missing_required_parameter', message: "Missing required parameter: 'item.content'.", param: 'item.content' };
      const allowed = item.role === 'user' ? ['input_text', 'input_audio', 'input_image'] : item.role === 'system' ? ['input_text'] : ['output_text'];
      for (const [i, part] of (item.content as Json[]).entries()) {
        if (!allowed.includes(part?.type)) return { code: 'invalid_value', message: `Invalid value: '${part?.type}'. Supported values are: ${allowed.map((a) => `'${a}'`).join(', ')}.`, param: `item.content[${i}].type` };
        if (part.type === 'input_image' && typeof part.image_url !== 'string') return { code: 'missing_required_parameter', message: `Missing required parameter: 'item.content[${i}].image_url'.`, param: `item.content[${i}].image_url` };
        if (part.type === 'input_image' && part.detail !== undefined && !['auto', 'low', 'high'].includes(part.detail)) return { code: 'invalid_value', message: `Invalid value: '${part.detail}'.`, param: `item.content[${i}].detail` };
        if ((part.type === 'input_text' || part.type === 'output_text') && typeof part.text !== 'string') return { code: 'missing_required_parameter', message: `Missing required parameter: 'item.content[${i}].text'.`, param: `item.content[${i}].text` };
      }
      return undefined;
    }
    case 'function_call_output':
      if (typeof item.call_id !== 'string') return { code: 'missing_required_parameter', message: "Missing required parameter: 'item.call_id'.", param: 'item.call_id' };
      if (typeof item.output !== 'string') return invalidType('item.output', 'a string');
      return unknownKey(item, ['type', 'call_id', 'output', 'id', 'object', 'status'], 'item');
    case 'function_call':
      return undefined;
    default:
      return { code: 'invalid_value', message: `Invalid value: '${item.type}'. Supported values are: 'message', 'function_call', and 'function_call_output'.`, param: 'item.type' };
  }
}

/** An item as it appears on the wire (internal fields such as the raw audio removed). */
function publicItem(item: Item): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(item)) if (!k.startsWith('_')) out[k] = v;
  return structuredClone(out);
}

function deepMerge(base: Json, update: Json): Json {
  const out: Json = structuredClone(base);
  for (const [k, v] of Object.entries(update)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && out[k] !== null && typeof out[k] === 'object' && !Array.isArray(out[k])) {
      out[k] = deepMerge(out[k], v);
    } else {
      out[k] = structuredClone(v);
    }
  }
  return out;
}

function defaultTranscribe(pcm: Buffer, rate: number): string {
  return `${Math.round((pcm.length / 2 / rate) * 1000)} ms of speech`;
}

/** The first tool one of whose name words (e.g. `weather` of `get_weather`) the text mentions. */
export function matchTool(tools: Json[], text: string): Json | undefined {
  const lower = text.toLowerCase();
  return tools.find((tool) => {
    if (typeof tool?.name !== 'string') return false;
    return tool.name
      .toLowerCase()
      .split(/[_\-\s]+/)
      .filter((w: string) => w.length > 3)
      .some((w: string) => lower.includes(w));
  });
}

/** Arguments matching the tool's schema: its first string property gets the word after "in". */
function argumentsFor(tool: Json, text: string): Json {
  const properties = tool.parameters?.properties ?? {};
  const place = /\bin ([A-Z][\w-]*(?: [A-Z][\w-]*)*)/.exec(text)?.[1] ?? 'Paris';
  const out: Json = {};
  for (const [name, schema] of Object.entries(properties) as [string, Json][]) {
    if (schema?.type === 'string') {
      out[name] = place;
      break;
    }
  }
  return out;
}

function replyFor(input: FakeTurnInput): string {
  switch (input.kind) {
    case 'tool_output':
      return `The tool says ${input.text}.`;
    case 'audio':
      return input.text ? `You said: ${input.text}.` : 'I heard you.';
    case 'text':
      return `You said: ${input.text}.`;
    default:
      return 'Hello! How can I help?';
  }
}

/** The input audio at half volume: audio deltas that are recognizably derived from the input. */
export function halfVolume(pcm: Buffer): Buffer {
  const out = Buffer.alloc(pcm.length - (pcm.length % 2));
  for (let i = 0; i < out.length; i += 2) out.writeInt16LE(pcm.readInt16LE(i) >> 1, i);
  return out;
}

function tone(ms: number, rate: number): Buffer {
  const samples = Math.max(1, Math.round((rate * ms) / 1000));
  const out = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) out.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 8000), i * 2);
  return out;
}

function usageFor(run: ResponseRun, inputRate: number): Json {
  const text = run.text;
  const inputAudioTokens = run.input.audio ? Math.ceil(run.input.audio.length / 2 / inputRate / 0.05) : 0;
  const inputTextTokens = Math.ceil(run.input.text.length / 4) + 50;
  const outputTextTokens = Math.ceil(text.length / 4);
  const outputAudioTokens = run.audioDeltas * 2;
  return {
    total_tokens: inputAudioTokens + inputTextTokens + outputTextTokens + outputAudioTokens,
    input_tokens: inputAudioTokens + inputTextTokens,
    output_tokens: outputTextTokens + outputAudioTokens,
    input_token_details: {
      text_tokens: inputTextTokens,
      audio_tokens: inputAudioTokens,
      image_tokens: 0,
      cached_tokens: 0,
      cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 },
    },
    output_token_details: { text_tokens: outputTextTokens, audio_tokens: outputAudioTokens },
  };
}
