// One Gemini Live session: normalized client events → BidiGenerateContent messages, and Gemini's
// server messages → normalized events (docs/providers.md §5). Connecting, readiness, pausing, the
// whole-sample rule, tool-call bookkeeping and the close-by-gateway / end-by-upstream difference
// live in the upstream core (providers/core/).
//
// Decisions where Gemini has no direct equivalent:
// - audio.commit: `activityEnd` with manual turns (`turn_detection.type: "none"`, which disables
//   Gemini's activity detection), else `audioStreamEnd` (flushes Gemini's VAD). With manual turns
//   the first audio or text of a turn is preceded by `activityStart`.
// - audio.clear: Gemini cannot take back audio it already received (it is streamed as it comes);
//   only the local "anything to commit?" count is reset.
// - text.input: `realtimeInput.text` (Gemini 3.x takes mid-conversation text only there; it
//   answers by itself). response.create is therefore implicit: nothing is sent, except with manual
//   turns, where it ends the open activity (`activityEnd`) so Gemini answers the text.
// - response.cancel: Gemini has no cancel. The rest of the current model turn is dropped here
//   (`response.completed` right away); with manual turns an `activityStart` also interrupts it.
// - A response starts with the first model content after user input (model parts, output
//   transcript or a tool call) and completes on `turnComplete`, or once on `interrupted`.
// - Input transcription arrives in pieces, in no fixed order with the model's turn: the pieces are
//   joined and sent as `transcript.committed` when the model starts answering; pieces that arrive
//   later in that turn follow at `turnComplete`.
// - tool.result → `toolResponse`; Gemini continues by itself. Its `toolResponse` needs the
//   function's name, so open calls are remembered; a call Gemini cancelled
//   (`toolCallCancellation`) is never answered (answering it can close the session with 1008).
// - usageMetadata → `usage` (Gemini's per-turn numbers), before `response.completed`; a turn the
//   client cancelled still reports what it cost, after the early `response.completed`.
// - session.update: ignored, Gemini takes no configuration after `setup` (docs/protocol.md §5).
// - goAway: reported to the gateway (`onGoingAway`), which rotates to a fresh connection resumed
//   with the latest `sessionResumptionUpdate.newHandle` (gateway/upstream-rotation.ts). Without a
//   rotation, the close that follows ends the session normally.
// - Session resumption is always requested in `setup` (docs/providers.md §3), so a handle is there
//   when a rotation needs one.
import type { FunctionCall, LiveServerContent } from '@google/genai';
import type WebSocket from 'ws';
import { ErrorCode } from '../../errors/error-codes.js';
import type { ModelDefinition } from '../../session-config/model-catalogue.js';
import type { SessionConfig } from '../../session-config/session-config.js';
import { isPlainObject } from '../../session-config/validation.js';
import { resampleBase64 } from '../core/pcm16.js';
import { ToolCallTracker } from '../core/tool-calls.js';
import type { NonAudioClientEvent } from '../core/upstream-session.js';
import { WebSocketUpstreamSession } from '../core/websocket-upstream-session.js';
import type { UpstreamEnd, UpstreamHandlers } from '../realtime-provider.js';
import { inlineAudioOfFrame, type InlineAudio } from './gemini-audio-frame.js';
import { endForGeminiClose } from './gemini-close.js';
import { buildGeminiSetup, hasManualTurns } from './gemini-setup.js';
import { normalizeGeminiUsage } from './gemini-usage.js';
import type { GeminiClientMessage, GeminiServerMessage } from './gemini-wire.js';

/** Gemini's own rates: PCM16 mono, 16 kHz in, 24 kHz out (docs/providers.md §3.4). */
export const GEMINI_INPUT_SAMPLE_RATE = 16000;
export const GEMINI_OUTPUT_SAMPLE_RATE = 24000;

/**
 * idle: no model turn under way, the next model content starts a response.
 * active: `response.started` was sent; content is forwarded.
 * dropping: the client cancelled; the rest of the turn is dropped until Gemini ends it.
 * ended: `response.completed` was sent on `interrupted`; `turnComplete` is still to come.
 */
type TurnState = 'idle' | 'active' | 'dropping' | 'ended';

const IMAGE_DATA_URL = /^data:(image\/(?:jpeg|png|webp));base64,([A-Za-z0-9+/]+={0,2})$/;

export class GeminiSession extends WebSocketUpstreamSession {
  readonly inputSampleRate: number;
  readonly outputSampleRate: number;

  private readonly manualTurns: boolean;
  private readonly audioMimeType: string;
  /** Manual turns: an `activityStart` was sent and its `activityEnd` not yet. */
  private activityOpen = false;
  /** Manual turns: audio bytes or texts sent inside the open activity. */
  private activityInput = 0;
  private bytesSinceCommit = 0;
  private turn: TurnState = 'idle';
  private inputTranscript = '';
  private speaking = false;
  private goAwayReceived = false;
  /** The latest resumable `sessionResumptionUpdate.newHandle`. */
  private handle: string | undefined;
  /** Gemini's `toolResponse` needs the function's name back; cancelled calls are refused. */
  private readonly toolCalls = new ToolCallTracker('Gemini');

  constructor(
    ws: WebSocket,
    handlers: UpstreamHandlers,
    private readonly config: SessionConfig,
    private readonly model: ModelDefinition,
    /** The handle of the connection this one continues (a rotation), if any. */
    private readonly resumeFrom?: string,
  ) {
    super(ws, handlers, 'Gemini');
    this.inputSampleRate = model.inputSampleRate ?? GEMINI_INPUT_SAMPLE_RATE;
    this.outputSampleRate = model.outputSampleRate ?? GEMINI_OUTPUT_SAMPLE_RATE;
    this.manualTurns = hasManualTurns(config);
    // Clients send at the rate session.started announced; Gemini resamples whatever rate is declared.
    this.audioMimeType = `audio/pcm;rate=${this.inputSampleRate}`;
  }

  /** Sends `setup`, the first message Gemini accepts; the session is ready on `setupComplete`. */
  start(): void {
    this.sendMessage({ setup: { ...buildGeminiSetup(this.config, this.model), sessionResumption: this.resumeFrom ? { handle: this.resumeFrom } : {} } });
  }

  /** Where a new connection may resume this conversation (gateway/upstream-rotation.ts). */
  get resumptionHandle(): string | undefined {
    return this.handle;
  }

  protected translate(event: NonAudioClientEvent): void {
    switch (event.type) {
      case 'audio.commit':
        return this.commitAudio();
      case 'audio.clear':
        this.bytesSinceCommit = 0;
        return;
      case 'text.input':
        return this.sendText(event.text);
      case 'image.input':
        return this.sendImage(event.image_url, event.text);
      case 'response.create':
        if (this.manualTurns && this.activityOpen && this.activityInput > 0) this.endActivity();
        return;
      case 'response.cancel':
        return this.cancelResponse();
      case 'tool.result':
        return this.answerToolCall(event.tool_call_id, event.tool_result);
      case 'session.update':
        return;
    }
  }

  protected override endForClose(code: number, reason: string): UpstreamEnd {
    return endForGeminiClose(code, reason, this.goAwayReceived);
  }

  // ── client → Gemini ─────────────────────────────────────────────────────────────────────────

  protected appendAudio(audio: string, bytes: number): void {
    this.beginActivity();
    this.sendMessage({ realtimeInput: { audio: { data: audio, mimeType: this.audioMimeType } } });
    this.bytesSinceCommit += bytes;
    this.activityInput += bytes;
  }

  private commitAudio(): void {
    if (this.bytesSinceCommit === 0) {
      this.emitError(ErrorCode.InputAudioBufferEmpty, 'audio.commit: no audio appended since the last commit');
      return;
    }
    this.bytesSinceCommit = 0;
    if (this.manualTurns) this.endActivity();
    else this.sendMessage({ realtimeInput: { audioStreamEnd: true } });
  }

  private sendText(text: string): void {
    if (text === '') return;
    this.beginActivity();
    this.sendMessage({ realtimeInput: { text } });
    this.activityInput += 1;
  }

  private sendImage(imageUrl: string, text: string | undefined): void {
    const match = IMAGE_DATA_URL.exec(imageUrl);
    if (!match) {
      this.emitError(ErrorCode.InvalidEvent, 'image.input: Gemini takes images only as data: URLs (image/jpeg, image/png or image/webp, base64)');
      return;
    }
    this.beginActivity();
    this.sendMessage({ realtimeInput: { video: { data: match[2], mimeType: match[1] } } });
    this.activityInput += 1;
    if (text) this.sendText(text);
  }

  /** Manual turns: the first input of a turn opens Gemini's activity. */
  private beginActivity(): void {
    if (!this.manualTurns || this.activityOpen) return;
    this.sendMessage({ realtimeInput: { activityStart: {} } });
    this.activityOpen = true;
    this.activityInput = 0;
  }

  private endActivity(): void {
    this.sendMessage({ realtimeInput: { activityEnd: {} } });
    this.activityOpen = false;
    this.activityInput = 0;
  }

  private cancelResponse(): void {
    if (this.turn !== 'active') return;
    this.turn = 'dropping';
    this.emit({ type: 'response.completed' });
    // With Gemini's activity detection off, a new activity is what interrupts the model.
    this.beginActivity();
  }

  private answerToolCall(toolCallId: string, result: unknown): void {
    const answer = this.toolCalls.answer(toolCallId);
    if ('error' in answer) return this.emit(answer.error);
    const { name } = answer;
    // Gemini takes a JSON object (a protobuf Struct) only.
    const response = isPlainObject(result) ? result : { result };
    this.sendMessage({ toolResponse: { functionResponses: [{ id: toolCallId, name, response }] } });
  }

  private sendMessage(message: GeminiClientMessage): void {
    this.sendJson(message);
  }

  // ── Gemini → client ─────────────────────────────────────────────────────────────────────────

  protected onUpstreamMessage(data: Buffer): void {
    // Hot path: a message that is one audio part and nothing else is read on its bytes (gemini-audio-frame.ts).
    const audio = this.inlineAudioOf(data);
    if (audio) return this.onModelAudio(audio.mimeType, audio.data);
    // Gemini sends binary frames of pretty-printed JSON; text frames are read the same way.
    const message = JSON.parse(data.toString('utf8')) as GeminiServerMessage | null;
    if (!isPlainObject(message)) throw new Error('not a JSON object');
    if (message.setupComplete) this.markReady();
    if (message.voiceActivity) this.onVoiceActivity(String(message.voiceActivity.voiceActivityType ?? ''));
    if (message.serverContent) this.onServerContent(message.serverContent, message);
    else if (message.usageMetadata) this.emit({ type: 'usage', usage: normalizeGeminiUsage(message.usageMetadata) });
    if (message.toolCall?.functionCalls?.length) this.onToolCalls(message.toolCall.functionCalls);
    for (const id of message.toolCallCancellation?.ids ?? []) this.toolCalls.cancel(id);
    const update = message.sessionResumptionUpdate;
    if (update?.resumable && typeof update.newHandle === 'string' && update.newHandle) this.handle = update.newHandle;
    if (message.goAway) {
      this.goAwayReceived = true;
      this.handlers.onGoingAway?.();
    }
  }

  /** The one audio part of a message that holds nothing else, or undefined to parse it (a seam for the agreement test). */
  protected inlineAudioOf(data: Buffer): InlineAudio | undefined {
    return inlineAudioOfFrame(data);
  }

  /** What onServerContent does with a message of one audio part and nothing else. */
  private onModelAudio(mimeType: string, data: string): void {
    if (this.turn === 'idle' || this.turn === 'ended') this.startResponse();
    if (this.turn === 'active' && data) this.emit({ type: 'audio.delta', audio: this.toClientAudio(data, mimeType) });
  }

  private onServerContent(content: LiveServerContent, message: GeminiServerMessage): void {
    if (content.inputTranscription?.text) this.inputTranscript += content.inputTranscription.text;
    const parts = content.modelTurn?.parts ?? [];
    const transcript = content.outputTranscription?.text;
    if (parts.length > 0 || transcript) {
      if (this.turn === 'idle' || this.turn === 'ended') this.startResponse();
      if (this.turn === 'active') {
        for (const part of parts) {
          if (part.inlineData?.data && part.inlineData.mimeType?.startsWith('audio/')) {
            this.emit({ type: 'audio.delta', audio: this.toClientAudio(part.inlineData.data, part.inlineData.mimeType) });
          } else if (typeof part.text === 'string' && part.text !== '' && !part.thought) {
            this.emit({ type: 'text.delta', delta: part.text });
          }
        }
        if (transcript) this.emit({ type: 'text.delta', delta: transcript });
      }
    }
    if (content.interrupted) this.onInterrupted();
    if (message.usageMetadata) this.emit({ type: 'usage', usage: normalizeGeminiUsage(message.usageMetadata) });
    if (content.turnComplete) this.onTurnComplete();
  }

  private onToolCalls(calls: FunctionCall[]): void {
    // A call in a cancelled turn is not the client's to answer: it never learns of it.
    if (this.turn === 'dropping') return;
    if (this.turn === 'idle' || this.turn === 'ended') this.startResponse();
    for (const call of calls) {
      if (!call.id || !call.name) continue;
      this.toolCalls.opened(call.id, call.name);
      this.emit({ type: 'tool.call', tool_call_id: call.id, tool_name: call.name, tool_arguments: JSON.stringify(call.args ?? {}) });
    }
  }

  private startResponse(): void {
    this.flushInputTranscript();
    this.turn = 'active';
    this.emit({ type: 'response.started' });
  }

  private onInterrupted(): void {
    // What was heard so far belongs to the turn being interrupted; what follows, to the barge-in.
    this.flushInputTranscript();
    if (this.turn === 'active') this.emit({ type: 'response.completed' });
    if (this.turn !== 'idle') this.turn = 'ended';
  }

  private onTurnComplete(): void {
    if (this.turn !== 'ended') this.flushInputTranscript();
    if (this.turn === 'active') this.emit({ type: 'response.completed' });
    this.turn = 'idle';
  }

  private flushInputTranscript(): void {
    const transcript = this.inputTranscript.trim();
    this.inputTranscript = '';
    if (transcript) this.emit({ type: 'transcript.committed', transcript });
  }

  private onVoiceActivity(type: string): void {
    if (type === 'ACTIVITY_START' && !this.speaking) {
      this.speaking = true;
      this.emit({ type: 'speech.started' });
    } else if (type === 'ACTIVITY_END' && this.speaking) {
      this.speaking = false;
      this.emit({ type: 'speech.stopped' });
    }
  }

  /** Gemini's audio at the rate session.started announced (24 kHz unless the catalogue says else). */
  private toClientAudio(data: string, mimeType: string): string {
    const rate = Number(/rate=(\d+)/.exec(mimeType)?.[1] ?? GEMINI_OUTPUT_SAMPLE_RATE);
    return rate ? resampleBase64(data, rate, this.outputSampleRate) : data;
  }
}
