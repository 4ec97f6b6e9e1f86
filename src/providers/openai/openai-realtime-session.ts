// The OpenAI Realtime (GA) event mapping: normalized events in, GA wire events out, and back;
// tool-call continuation and start-only fields. OpenAI uses it with its own dialect
// (openai-dialect.ts); xAI, which speaks the same event names (docs/providers.md §1.2, §1.3, §2.2,
// §2.3), composes it with a dialect of its own (where session fields go, where `response.done`
// carries usage, a few extra server events). The connection, delivery and endings are the
// upstream core's (providers/core/).
//
// Wire messages are typed with the `openai` package's realtime types, so a drift of the GA
// protocol is a compile error.
import type {
  ConversationItem,
  RealtimeAudioInputTurnDetection,
  RealtimeClientEvent,
  RealtimeConversationItemUserMessage,
  RealtimeFunctionTool,
  RealtimeReasoningEffort,
  RealtimeServerEvent,
} from 'openai/resources/realtime/realtime';
import type WebSocket from 'ws';
import { CloseCode } from '../../errors/close-codes.js';
import { ErrorCode } from '../../errors/error-codes.js';
import type { ModelDefinition } from '../../session-config/model-catalogue.js';
import type { SessionConfig, SessionConfigField, TurnDetection } from '../../session-config/session-config.js';
import { isZeroValue, sameConfigValue } from '../../session-config/zero-value.js';
import { resampleBase64 } from '../core/pcm16.js';
import { ToolCallTracker } from '../core/tool-calls.js';
import type { NonAudioClientEvent } from '../core/upstream-session.js';
import { WebSocketUpstreamSession } from '../core/websocket-upstream-session.js';
import type { ConversationTurn, UpstreamHandlers } from '../realtime-provider.js';
import { audioOfDeltaFrame } from './audio-delta-frame.js';

/** Error code sent to the client when it tries to change a field the provider fixes at start. */
export const TRANSCRIPTION_LOCKED = ErrorCode.TranscriptionLocked;
/** Error code sent to the client when the provider could not transcribe a user turn. */
export const INPUT_TRANSCRIPTION_FAILED = ErrorCode.InputTranscriptionFailed;

/**
 * The session settings of one `session.update`, provider-neutral: what to set, already mapped to
 * GA values (tools wrapped, `turn_detection.type:"none"` → null). An absent key means "leave it".
 * Each provider places these fields in its own `session` shape.
 */
export interface SessionSettings {
  instructions?: string;
  voice?: string;
  outputModalities?: Array<'audio' | 'text'>;
  tools?: RealtimeFunctionTool[];
  /** `null`: no turn detection (manual commits). */
  turnDetection?: RealtimeAudioInputTurnDetection | null;
  /** `null`: transcription off. */
  transcription?: { model: string } | null;
  reasoningEffort?: RealtimeReasoningEffort;
}

/**
 * What differs between providers that speak the GA events. A dialect may keep per-session state
 * (it is created for one session).
 */
export interface OpenAiDialect {
  /** Shown in messages, e.g. `OpenAI`. */
  providerLabel: string;
  /** PCM16 rates on the provider's wire. The client's rates come from the model's catalogue entry. */
  upstreamInputRate: number;
  upstreamOutputRate: number;
  /** Config fields that cannot change once the session started (a change gets an `error` event). */
  startOnlyFields: readonly SessionConfigField[];
  /** Transcription model when `input_transcription_model` is unset. */
  defaultTranscriptionModel: string;
  /**
   * Turn detection sent when the config leaves it unset. `undefined`: send nothing (the provider's
   * own default applies).
   */
  defaultTurnDetection?: RealtimeAudioInputTurnDetection;
  /** The provider's `session.update` message for these settings. */
  sessionUpdateMessage(settings: SessionSettings, initial: boolean): object;
  /** The usage a `response.done` carries, as the provider sends it (normalized by the session). */
  rawUsage(event: Extract<RealtimeServerEvent, { type: 'response.done' }> & Record<string, unknown>): unknown;
  /**
   * Provider-only server events. Return true when handled (the GA mapping is then skipped). Not
   * called for canonical `response.output_audio.delta` frames (audio-delta-frame.ts): a dialect must
   * leave that event to the GA mapping.
   */
  handleEvent?(event: IncomingEvent, session: DialectOutlet): boolean;
}

/** What a dialect may do with a server event it handles itself. */
export interface DialectOutlet {
  emitText(delta: unknown): void;
}

/** A server event as parsed from the wire: one of the typed GA events, or something else. */
export type IncomingEvent = RealtimeServerEvent | { type: string; [key: string]: unknown };

const SETTING_FIELDS: readonly SessionConfigField[] = [
  'instructions',
  'voice',
  'modalities',
  'tools',
  'turn_detection',
  'input_transcription',
  'input_transcription_model',
  'reasoning_effort',
];

export class OpenAiRealtimeSession extends WebSocketUpstreamSession implements DialectOutlet {
  readonly inputSampleRate: number;
  readonly outputSampleRate: number;

  /** The config as the provider has it (start-only fields keep their start values). */
  private config: SessionConfig;

  /** Between `response.created` and `response.done`. */
  private activeResponses = 0;
  private readonly toolCalls: ToolCallTracker;
  /** A tool result was sent: ask for the continuation once nothing is active and every call is answered. */
  private continuationPending = false;

  constructor(
    ws: WebSocket,
    handlers: UpstreamHandlers,
    config: SessionConfig,
    private readonly model: ModelDefinition,
    private readonly dialect: OpenAiDialect,
  ) {
    super(ws, handlers, dialect.providerLabel);
    this.config = config;
    this.toolCalls = new ToolCallTracker(dialect.providerLabel);
    this.inputSampleRate = model.inputSampleRate ?? dialect.upstreamInputRate;
    this.outputSampleRate = model.outputSampleRate ?? dialect.upstreamOutputRate;
  }

  /** Sends the initial `session.update` (the provider confirms it with `session.updated`). */
  start(): void {
    this.sendSessionUpdate(this.initialSettings(), true);
  }

  // ── client → provider ───────────────────────────────────────────────────────────────────────

  protected appendAudio(audio: string): void {
    // Hot path: the gateway passes only base64 audio (client-events.ts), and resampling gives
    // base64 too — nothing to escape — so concatenation gives JSON.stringify's bytes of
    // `{type: 'input_audio_buffer.append', audio}` without its scan of the audio.
    this.sendSerialized(
      '{"type":"input_audio_buffer.append","audio":"' + resampleBase64(audio, this.inputSampleRate, this.dialect.upstreamInputRate) + '"}',
    );
  }

  protected translate(event: NonAudioClientEvent): void {
    switch (event.type) {
      case 'audio.commit':
        return this.sendEvent({ type: 'input_audio_buffer.commit' });
      case 'audio.clear':
        return this.sendEvent({ type: 'input_audio_buffer.clear' });
      case 'text.input':
        return this.sendUserMessage([{ type: 'input_text', text: event.text }]);
      case 'image.input': {
        const content: RealtimeConversationItemUserMessage.Content[] = [
          { type: 'input_image', image_url: event.image_url, ...(event.image_detail ? { detail: event.image_detail as 'auto' | 'low' | 'high' } : {}) },
        ];
        if (event.text) content.push({ type: 'input_text', text: event.text });
        return this.sendUserMessage(content);
      }
      case 'response.create':
        return this.sendEvent({ type: 'response.create' });
      case 'response.cancel':
        return this.sendEvent({ type: 'response.cancel' });
      case 'tool.result':
        return this.sendToolResult(event.tool_call_id, event.tool_result);
      case 'session.update':
        return this.updateSession(event.config, event.changed);
    }
  }

  /**
   * A rotation carried the conversation over (gateway/upstream-rotation.ts): the earlier turns as
   * conversation items, user text as `input_text`, the model's replies as `output_text`. No
   * `response.create` follows: they are context, not a question.
   */
  restoreHistory(turns: readonly ConversationTurn[]): void {
    for (const turn of turns) {
      const item: ConversationItem =
        turn.role === 'user'
          ? { type: 'message', role: 'user', content: [{ type: 'input_text', text: turn.text }] }
          : { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: turn.text }] };
      this.sendEvent({ type: 'conversation.item.create', item });
    }
  }

  private sendEvent(event: RealtimeClientEvent): void {
    this.sendJson(event);
  }

  private sendUserMessage(content: RealtimeConversationItemUserMessage.Content[]): void {
    const item: ConversationItem = { type: 'message', role: 'user', content };
    this.sendEvent({ type: 'conversation.item.create', item });
  }

  private sendToolResult(callId: string, result: unknown): void {
    const answer = this.toolCalls.answer(callId);
    if ('error' in answer) return this.emit(answer.error);
    const output = typeof result === 'string' ? result : (JSON.stringify(result) ?? 'null');
    this.sendEvent({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output } });
    // docs/protocol.md §5: the client does not send response.create after tool.result; the model
    // continues because the gateway asks it to — once the response that called the tool is done
    // (a response.create during an active response is an error on OpenAI and cancels it on xAI)
    // and every call of that response has its result.
    this.continuationPending = true;
    this.maybeContinue();
  }

  private maybeContinue(): void {
    if (!this.continuationPending || this.activeResponses > 0 || this.toolCalls.pending > 0) return;
    this.continuationPending = false;
    this.sendEvent({ type: 'response.create' });
  }

  // ── session settings ────────────────────────────────────────────────────────────────────────

  private initialSettings(): SessionSettings {
    const settings = this.settingsFor(this.config, SETTING_FIELDS, true);
    if (settings.turnDetection === undefined && this.dialect.defaultTurnDetection) settings.turnDetection = this.dialect.defaultTurnDetection;
    return settings;
  }

  private updateSession(next: SessionConfig, changed: readonly string[]): void {
    const locked = this.dialect.startOnlyFields.filter((f) => !sameConfigValue(this.config[f], next[f]));
    if (locked.length) {
      this.emitError(
        TRANSCRIPTION_LOCKED,
        `${locked.map((f) => `config.${f}`).join(', ')} cannot change during a ${this.dialect.providerLabel} session; it keeps its value from session.start`,
      );
    }
    const previous = this.config;
    const kept: Partial<SessionConfig> = {};
    for (const field of this.dialect.startOnlyFields) (kept as Record<string, unknown>)[field] = previous[field];
    this.config = { ...next, ...kept };
    const fields = SETTING_FIELDS.filter(
      (f) => !this.dialect.startOnlyFields.includes(f) && (changed.includes(f) || !sameConfigValue(previous[f], next[f])),
    );
    if (!fields.length) return;
    const settings = this.settingsFor(this.config, fields, false);
    if (Object.keys(settings).length) this.sendSessionUpdate(settings, false);
  }

  /** The settings of `fields`; on an update a field set back to its zero value gets the default. */
  private settingsFor(config: SessionConfig, fields: readonly SessionConfigField[], initial: boolean): SessionSettings {
    const settings: SessionSettings = {};
    const has = (f: SessionConfigField) => fields.includes(f);
    if (has('instructions') && (!initial || !isZeroValue(config.instructions))) {
      settings.instructions = config.instructions ?? '';
    }
    if (has('voice')) {
      const voice = isZeroValue(config.voice) ? this.model.defaultVoice : (config.voice as string);
      if (voice) settings.voice = voice;
    }
    if (has('modalities')) {
      // GA responds with audio (plus its transcript) or with text only, never both.
      const modalities = config.modalities ?? [];
      settings.outputModalities = modalities.length === 1 && modalities[0] === 'text' ? ['text'] : ['audio'];
    }
    if (has('tools') && (!initial || !isZeroValue(config.tools))) {
      settings.tools = (config.tools ?? []).map((tool) => ({
        type: 'function',
        name: tool.name,
        ...(tool.description !== undefined ? { description: tool.description } : {}),
        ...(tool.parameters !== undefined ? { parameters: tool.parameters } : {}),
      }));
    }
    if (has('turn_detection')) {
      if (!isZeroValue(config.turn_detection)) settings.turnDetection = toTurnDetection(config.turn_detection!);
      else if (!initial) settings.turnDetection = this.dialect.defaultTurnDetection ?? { type: 'server_vad' };
    }
    if (has('input_transcription') || has('input_transcription_model')) {
      if (config.input_transcription === true) {
        settings.transcription = { model: isZeroValue(config.input_transcription_model) ? this.dialect.defaultTranscriptionModel : config.input_transcription_model! };
      } else if (!initial) {
        settings.transcription = null;
      }
    }
    if (has('reasoning_effort') && !isZeroValue(config.reasoning_effort)) settings.reasoningEffort = config.reasoning_effort!;
    return settings;
  }

  private sendSessionUpdate(settings: SessionSettings, initial: boolean): void {
    this.sendJson(this.dialect.sessionUpdateMessage(settings, initial));
  }

  // ── provider → client ───────────────────────────────────────────────────────────────────────

  protected onUpstreamMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) return; // both providers send JSON text frames only
    // Hot path: a canonical audio delta is read on its bytes (audio-delta-frame.ts).
    const audio = this.audioOfFrame(data);
    if (audio !== undefined) return this.emitAudio(audio);
    const parsed = JSON.parse(data.toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { type?: unknown }).type !== 'string') {
      throw new Error('not a JSON object with a string "type"');
    }
    const event = parsed as IncomingEvent;
    if (this.dialect.handleEvent?.(event, this)) return;
    this.handleEvent(event as RealtimeServerEvent);
  }

  private handleEvent(event: RealtimeServerEvent): void {
    switch (event.type) {
      case 'session.updated':
        return this.markReady();
      case 'error':
        return this.onProviderError(event.error?.code ?? event.error?.type, event.error?.message);
      case 'input_audio_buffer.speech_started':
        return this.emit({ type: 'speech.started' });
      case 'input_audio_buffer.speech_stopped':
        return this.emit({ type: 'speech.stopped' });
      case 'conversation.item.input_audio_transcription.completed':
        if (typeof event.transcript === 'string') this.emit({ type: 'transcript.committed', transcript: event.transcript });
        return;
      case 'conversation.item.input_audio_transcription.failed':
        // The turn itself stands; only its transcript is missing.
        return this.emitError(INPUT_TRANSCRIPTION_FAILED, `Input transcription failed: ${event.error?.message ?? 'no reason given'}`);
      case 'response.created':
        this.activeResponses += 1;
        return this.emit({ type: 'response.started' });
      case 'response.output_audio.delta':
        if (typeof event.delta === 'string') this.emitAudio(event.delta);
        return;
      case 'response.output_audio_transcript.delta':
        // The model's transcript of its own speech, when the client asked for it (docs/protocol.md §4).
        if (this.config.output_transcription === true) this.emitText(event.delta);
        return;
      case 'response.output_text.delta':
        return this.emitText(event.delta);
      case 'response.function_call_arguments.done':
        // Only complete arguments reach the client (never the .delta events).
        this.toolCalls.opened(event.call_id, event.name);
        return this.emit({ type: 'tool.call', tool_call_id: event.call_id, tool_name: event.name, tool_arguments: event.arguments });
      case 'response.done':
        return this.onResponseDone(event as Extract<RealtimeServerEvent, { type: 'response.done' }> & Record<string, unknown>);
      default:
        return; // lifecycle detail the normalized protocol does not carry (items, parts, rate limits…)
    }
  }

  /** The audio of a canonical `response.output_audio.delta` frame, or undefined to parse it (a seam for the agreement test). */
  protected audioOfFrame(data: Buffer): string | undefined {
    return audioOfDeltaFrame(data);
  }

  private emitAudio(delta: string): void {
    if (delta) this.emit({ type: 'audio.delta', audio: resampleBase64(delta, this.dialect.upstreamOutputRate, this.outputSampleRate) });
  }

  emitText(delta: unknown): void {
    if (typeof delta === 'string' && delta) this.emit({ type: 'text.delta', delta });
  }

  private onResponseDone(event: Extract<RealtimeServerEvent, { type: 'response.done' }> & Record<string, unknown>): void {
    this.activeResponses = Math.max(0, this.activeResponses - 1);
    const usage = normalizeUsage(this.dialect.rawUsage(event));
    if (usage) this.emit({ type: 'usage', usage });
    this.emit({ type: 'response.completed' });
    this.maybeContinue();
  }

  private onProviderError(code: string | null | undefined, message: string | undefined): void {
    const text = typeof message === 'string' && message ? message : `${this.dialect.providerLabel} reported an error`;
    // Before `session.updated`, the only thing sent is the initial session.update: it was refused.
    if (!this.isConfirmed) {
      this.fail({ code: ErrorCode.UpstreamError, message: `${this.dialect.providerLabel} refused the session: ${text}`, closeCode: CloseCode.Internal });
      return;
    }
    // Provider errors stay non-fatal (docs/providers.md §1.5): the session ends only if the socket closes.
    this.emitError(typeof code === 'string' && code ? code : ErrorCode.UpstreamError, text);
  }
}

/** `turn_detection` of the contract → GA turn detection (`none` → null, manual turns). */
export function toTurnDetection(td: TurnDetection): RealtimeAudioInputTurnDetection | null {
  if (td.type === 'none') return null;
  if (td.type === 'semantic_vad') return { type: 'semantic_vad' };
  return {
    type: 'server_vad',
    ...(td.threshold ? { threshold: td.threshold } : {}),
    ...(td.prefix_padding_ms ? { prefix_padding_ms: td.prefix_padding_ms } : {}),
    ...(td.silence_duration_ms ? { silence_duration_ms: td.silence_duration_ms } : {}),
  };
}

/**
 * Provider usage → the `usage` event: OpenAI field names, numbers only (token counts, xAI's audio
 * seconds), nested `*_details` objects kept the same way. Undefined when there is nothing to report.
 */
export function normalizeUsage(raw: unknown): Record<string, unknown> | undefined {
  const out = numbersOf(raw, 2);
  return out && Object.keys(out).length ? out : undefined;
}

function numbersOf(value: unknown, depth: number): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
    else if (depth > 0 && key.endsWith('_details')) {
      const nested = numbersOf(v, depth - 1);
      if (nested && Object.keys(nested).length) out[key] = nested;
    }
  }
  return out;
}
