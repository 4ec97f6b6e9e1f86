// One loopback upstream session: a deterministic, in-process stand-in for a realtime model, so the
// gateway (and its e2e tests) can run every part of the protocol without network or API keys.
// Audio comes back byte-for-byte, text comes back as text, `call <tool> {json}` becomes a tool call.
// Delivery, pausing, the whole-sample rule and tool-call bookkeeping are the upstream core's, as for
// the network adapters.
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../errors/error-codes.js';
import type { SessionConfig } from '../../session-config/session-config.js';
import { invalidAudioError, isPaddedBase64, pcmDurationMs, pcmFromBase64 } from '../core/pcm16.js';
import { ToolCallTracker } from '../core/tool-calls.js';
import { UpstreamSessionCore, type NonAudioClientEvent } from '../core/upstream-session.js';
import type { ServerEvent, UpstreamHandlers } from '../realtime-provider.js';
import { parseToolCallCommand, type ToolCallCommand } from './tool-call-command.js';

export const LOOPBACK_SAMPLE_RATE = 24000;
export const DEFAULT_SILENCE_DURATION_MS = 500;
/** 100 ms at 24 kHz: the largest echoed frame, the size real upstreams tend to send. */
export const LOOPBACK_MAX_FRAME_BYTES = 4800;

/** What goes between `response.started` and `response.completed`, produced one event per tick. */
type ResponseBody = Iterator<ServerEvent, void, undefined>;

export class LoopbackSession extends UpstreamSessionCore {
  readonly inputSampleRate = LOOPBACK_SAMPLE_RATE;
  readonly outputSampleRate = LOOPBACK_SAMPLE_RATE;
  /** Nothing is ever queued toward an upstream: there is none. */
  readonly bufferedAmount = 0;

  private config: SessionConfig;

  private uncommitted: Buffer[] = [];
  private uncommittedBytes = 0;
  private pendingText: string[] = [];
  /** Tool calls already sent to the client and not yet answered. */
  private readonly toolCalls = new ToolCallTracker('Loopback');

  private speaking = false;
  private silenceTimer: NodeJS.Timeout | undefined;

  private current: ResponseBody | undefined;
  private readonly waiting: ResponseBody[] = [];
  private tick: NodeJS.Immediate | undefined;

  constructor(config: SessionConfig, handlers: UpstreamHandlers) {
    super(handlers);
    this.config = config;
    // Nothing to connect to: ready at once.
    this.markReady();
  }

  protected translate(event: NonAudioClientEvent): void {
    switch (event.type) {
      case 'audio.commit':
        return this.commitAudio();
      case 'audio.clear':
        // The silence timer keeps running so a `speech.started` still gets its `speech.stopped`;
        // with nothing left to commit, that turn then produces no response.
        this.uncommitted = [];
        this.uncommittedBytes = 0;
        return;
      case 'text.input':
        this.pendingText.push(event.text);
        return;
      case 'image.input':
        if (typeof event.text === 'string' && event.text !== '') this.pendingText.push(event.text);
        return;
      case 'response.create':
        return this.createResponse();
      case 'response.cancel':
        return this.cancelResponse();
      case 'tool.result':
        return this.answerToolCall(event.tool_call_id, event.tool_result);
      case 'session.update':
        return this.updateConfig(event.config);
    }
  }

  protected pauseTransport(): void {
    // Halting production (not only delivery) keeps the held queue small however long the echo,
    // and means a cancel sent while paused still drops every frame not yet delivered.
    this.stopTicking();
  }

  protected resumeTransport(): void {
    this.scheduleTick();
  }

  protected releaseTransport(): void {
    this.clearSilenceTimer();
    this.stopTicking();
    this.waiting.length = 0;
    this.current = undefined;
    this.uncommitted = [];
    this.uncommittedBytes = 0;
  }

  // --- audio turns ---

  protected appendAudio(audio: string): void {
    // The echo returns these bytes as they are: it must never return bytes the client did not send.
    if (!isPaddedBase64(audio)) return this.emit(invalidAudioError());
    const pcm = pcmFromBase64(audio);
    this.uncommitted.push(pcm);
    this.uncommittedBytes += pcm.length;
    if (!this.serverVad()) return;
    if (!this.speaking) {
      this.speaking = true;
      this.emit({ type: 'speech.started' });
    }
    this.armSilenceTimer();
  }

  private commitAudio(): void {
    if (this.uncommittedBytes === 0) {
      this.emitError(ErrorCode.InputAudioBufferEmpty, 'audio.commit: no audio appended since the last commit');
      return;
    }
    this.endSpeech();
    this.commitTurn();
  }

  private commitTurn(): void {
    const pcm = Buffer.concat(this.uncommitted, this.uncommittedBytes);
    this.uncommitted = [];
    this.uncommittedBytes = 0;
    const ms = pcmDurationMs(pcm.length, LOOPBACK_SAMPLE_RATE);
    if (this.config.input_transcription === true) {
      this.emit({ type: 'transcript.committed', transcript: `${ms} ms of audio` });
    }
    // Read now: a later session.update applies to later turns, not to this one.
    const transcribeOutput = this.config.output_transcription === true;
    this.enqueue(echoAudio(pcm, transcribeOutput ? `echo: ${ms} ms of audio` : undefined));
  }

  private serverVad(): boolean {
    return this.config.turn_detection?.type === 'server_vad';
  }

  private armSilenceTimer(): void {
    if (this.isClosed) return;
    this.clearSilenceTimer();
    const configured = this.config.turn_detection?.silence_duration_ms;
    // 0 is the contract's zero value ("unset"), not "commit on every frame".
    const silenceMs = typeof configured === 'number' && configured > 0 ? configured : DEFAULT_SILENCE_DURATION_MS;
    this.silenceTimer = setTimeout(() => {
      this.silenceTimer = undefined;
      this.endSpeech();
      if (this.uncommittedBytes > 0) this.commitTurn();
    }, silenceMs);
  }

  private clearSilenceTimer(): void {
    if (this.silenceTimer === undefined) return;
    clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
  }

  /** Closes the current speech segment, so every `speech.started` is matched by one `speech.stopped`. */
  private endSpeech(): void {
    this.clearSilenceTimer();
    if (!this.speaking) return;
    this.speaking = false;
    this.emit({ type: 'speech.stopped' });
  }

  // --- text, tools, config ---

  private createResponse(): void {
    const text = this.pendingText;
    this.pendingText = [];
    if (text.length === 0) {
      this.enqueue(nothing());
      return;
    }
    const joined = text.join('\n');
    const command = parseToolCallCommand(joined, this.config.tools ?? []);
    this.enqueue(command ? this.callTool(command) : echoText(joined));
  }

  private *callTool(command: ToolCallCommand): Generator<ServerEvent, void, undefined> {
    // The id exists from the moment the client can see it, not before: a response cancelled
    // before its tool.call went out leaves no call to answer.
    const toolCallId = `call_${randomBytes(12).toString('hex')}`;
    this.toolCalls.opened(toolCallId, command.toolName);
    yield { type: 'tool.call', tool_call_id: toolCallId, tool_name: command.toolName, tool_arguments: command.toolArguments };
  }

  private answerToolCall(toolCallId: string, result: unknown): void {
    const answer = this.toolCalls.answer(toolCallId);
    if ('error' in answer) return this.emit(answer.error);
    // docs/protocol.md §5: after tool.result the model continues by itself, without response.create.
    this.enqueue(echoText(JSON.stringify(result) ?? 'null'));
  }

  private updateConfig(config: SessionConfig): void {
    this.config = config;
    // Leaving server_vad mid-speech: close the segment; the audio waits for a manual commit.
    if (!this.serverVad()) this.endSpeech();
  }

  // --- responses: serialized, paced one event per tick so a cancel can land mid-response ---

  private enqueue(body: ResponseBody): void {
    this.waiting.push(body);
    this.startNext();
  }

  private startNext(): void {
    if (this.isClosed || this.current) return;
    const next = this.waiting.shift();
    if (!next) return;
    this.current = next;
    this.emit({ type: 'response.started' });
    this.scheduleTick();
  }

  private cancelResponse(): void {
    const body = this.current;
    if (!body) return;
    body.return?.();
    this.completeResponse();
  }

  private completeResponse(): void {
    // Cleared before emitting, so a handler that cancels on `response.completed` is a no-op.
    this.current = undefined;
    this.emit({ type: 'response.completed' });
    this.startNext();
  }

  private scheduleTick(): void {
    if (this.isClosed || this.isPaused || this.tick !== undefined || !this.current) return;
    this.tick = setImmediate(() => {
      this.tick = undefined;
      this.step();
    });
  }

  private stopTicking(): void {
    if (this.tick === undefined) return;
    clearImmediate(this.tick);
    this.tick = undefined;
  }

  private step(): void {
    const body = this.current;
    if (!body || this.isClosed || this.isPaused) return;
    const next = body.next();
    if (next.done) {
      this.completeResponse();
      return;
    }
    this.emit(next.value);
    this.scheduleTick();
  }
}

function* nothing(): Generator<ServerEvent, void, undefined> {}

function* echoText(text: string): Generator<ServerEvent, void, undefined> {
  yield { type: 'text.delta', delta: text };
}

function* echoAudio(pcm: Buffer, transcript: string | undefined): Generator<ServerEvent, void, undefined> {
  if (transcript !== undefined) yield { type: 'text.delta', delta: transcript };
  for (const audio of base64Frames(pcm)) yield { type: 'audio.delta', audio };
}

/** Base64 frames of at most `maxBytes` of `pcm` each, in order, lazily (a long turn is not encoded up front). */
function* base64Frames(pcm: Buffer, maxBytes: number = LOOPBACK_MAX_FRAME_BYTES): Generator<string> {
  for (let offset = 0; offset < pcm.length; offset += maxBytes) {
    yield pcm.subarray(offset, offset + maxBytes).toString('base64');
  }
}
