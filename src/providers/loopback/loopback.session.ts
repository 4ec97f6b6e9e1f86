// One loopback upstream session: a deterministic, in-process stand-in for a realtime model, so the
// gateway (and its e2e tests) can run every part of the protocol without network or API keys.
// Audio comes back byte-for-byte, text comes back as text, `call <tool> {json}` becomes a tool call.
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../errors/error-codes.js';
import type { SessionConfig } from '../../session-config/session-config.js';
import type { ClientEvent, ServerEvent, UpstreamHandlers, UpstreamSession } from '../realtime-provider.js';
import { pcmDurationMs } from '../shared/pcm16.js';
import { base64Frames, decodePcm16 } from './pcm16.js';
import { parseToolCallCommand, type ToolCallCommand } from './tool-call-command.js';

export const LOOPBACK_SAMPLE_RATE = 24000;
export const DEFAULT_SILENCE_DURATION_MS = 500;


/** What goes between `response.started` and `response.completed`, produced one event per tick. */
type ResponseBody = Iterator<ServerEvent, void, undefined>;

export class LoopbackSession implements UpstreamSession {
  readonly inputSampleRate = LOOPBACK_SAMPLE_RATE;
  readonly outputSampleRate = LOOPBACK_SAMPLE_RATE;
  /** Nothing is ever queued toward an upstream: there is none. */
  readonly bufferedAmount = 0;

  private config: SessionConfig;
  private readonly handlers: UpstreamHandlers;

  private uncommitted: Buffer[] = [];
  private uncommittedBytes = 0;
  private pendingText: string[] = [];
  /** Tool calls already sent to the client and not yet answered: id → tool name. */
  private readonly openToolCalls = new Map<string, string>();

  private speaking = false;
  private silenceTimer: NodeJS.Timeout | undefined;

  private current: ResponseBody | undefined;
  private readonly waiting: ResponseBody[] = [];
  private tick: NodeJS.Immediate | undefined;

  private paused = false;
  /** Events produced while paused (or while earlier ones are still being flushed), in order. */
  private held: ServerEvent[] = [];
  private closed = false;

  constructor(config: SessionConfig, handlers: UpstreamHandlers) {
    this.config = config;
    this.handlers = handlers;
  }

  send(event: ClientEvent): void {
    if (this.closed) return;
    switch (event.type) {
      case 'audio.append':
        return this.appendAudio(event.audio);
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

  pause(): void {
    if (this.closed) return;
    this.paused = true;
    // Halting production (not only delivery) keeps the held queue small however long the echo,
    // and means a cancel sent while paused still drops every frame not yet delivered.
    this.stopTicking();
  }

  resume(): void {
    if (this.closed || !this.paused) return;
    this.paused = false;
    this.flushHeld();
    this.scheduleTick();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearSilenceTimer();
    this.stopTicking();
    this.held = [];
    this.waiting.length = 0;
    this.current = undefined;
    this.uncommitted = [];
    this.uncommittedBytes = 0;
  }

  // --- audio turns ---

  private appendAudio(audio: string): void {
    const pcm = decodePcm16(audio);
    if (!pcm) {
      this.emitError(ErrorCode.InvalidAudio, 'audio.append: audio must be base64 of PCM16 (an even number of bytes)');
      return;
    }
    if (pcm.length === 0) return;
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
    if (this.closed) return;
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
    this.openToolCalls.set(toolCallId, command.toolName);
    yield { type: 'tool.call', tool_call_id: toolCallId, tool_name: command.toolName, tool_arguments: command.toolArguments };
  }

  private answerToolCall(toolCallId: string, result: unknown): void {
    if (!this.openToolCalls.delete(toolCallId)) {
      this.emitError(ErrorCode.UnknownToolCall, `tool.result: no open tool call with id "${toolCallId}"`);
      return;
    }
    // PROTOCOL.md §5: after tool.result the model continues by itself, without response.create.
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
    if (this.closed || this.current) return;
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
    if (this.closed || this.paused || this.tick !== undefined || !this.current) return;
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
    if (!body || this.closed || this.paused) return;
    const next = body.next();
    if (next.done) {
      this.completeResponse();
      return;
    }
    this.emit(next.value);
    this.scheduleTick();
  }

  // --- delivery ---

  private emitError(code: string, message: string): void {
    this.emit({ type: 'error', error: { code, message } });
  }

  private emit(event: ServerEvent): void {
    if (this.closed) return;
    // While a flush is under way, later events queue behind the held ones to keep their order.
    if (this.paused || this.held.length > 0) {
      this.held.push(event);
      return;
    }
    this.handlers.onEvent(event);
  }

  private flushHeld(): void {
    // A handler may pause or close again mid-flush; re-check before every delivery.
    while (!this.paused && !this.closed && this.held.length > 0) {
      this.handlers.onEvent(this.held.shift()!);
    }
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
