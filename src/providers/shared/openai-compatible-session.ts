// The event mapping of every OpenAI-Realtime-GA-style provider (OpenAI itself, xAI), written once.
// Both speak the same client and server event names (UPSTREAMS.md §1.2, §1.3, §2.2, §2.3); they
// differ in where session fields go (GA nests voice/turn detection under `audio`, xAI keeps them
// flat), where `response.done` carries usage, and a few extra server events. Subclasses supply
// those differences; everything else — normalized events in, wire events out, tool-call
// continuation, start-only fields, close codes — lives here.
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
import { ErrorCode } from '../../errors/error-codes.js';
import type { ModelDefinition } from '../../session-config/model-catalogue.js';
import type { SessionConfig, SessionConfigField, TurnDetection } from '../../session-config/session-config.js';
import { isZeroValue, sameConfigValue } from '../../session-config/zero-value.js';
import type { ClientEvent, OpenUpstreamParams, UpstreamEnd, UpstreamHandlers } from '../realtime-provider.js';
import { pcmFromBase64, pcmToBase64, resamplePcm16 } from './pcm16.js';
import { openUpstreamSocket, UpstreamConnectError } from './upstream-socket.js';
import { WebSocketUpstreamSession } from './websocket-upstream-session.js';

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

export interface OpenAiCompatibleOptions {
  /** Shown in messages, e.g. `OpenAI`. */
  providerLabel: string;
  model: ModelDefinition;
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

export abstract class OpenAiCompatibleSession extends WebSocketUpstreamSession {
  readonly inputSampleRate: number;
  readonly outputSampleRate: number;

  /** The config as the provider has it (start-only fields keep their start values). */
  protected config: SessionConfig;
  protected readonly options: OpenAiCompatibleOptions;

  /** The provider confirmed the session (`session.updated`). */
  private readyConfirmed = false;
  /** Between `response.created` and `response.done`. */
  private activeResponses = 0;
  /** Tool calls sent to the client and not answered yet. */
  private readonly openToolCalls = new Set<string>();
  /** A tool result was sent: ask for the continuation once nothing is active and every call is answered. */
  private continuationPending = false;

  constructor(ws: WebSocket, handlers: UpstreamHandlers, config: SessionConfig, options: OpenAiCompatibleOptions) {
    super(ws, handlers);
    this.config = config;
    this.options = options;
    this.inputSampleRate = options.model.inputSampleRate ?? options.upstreamInputRate;
    this.outputSampleRate = options.model.outputSampleRate ?? options.upstreamOutputRate;
  }

  /** Sends the initial `session.update` (the provider confirms it with `session.updated`). */
  start(): void {
    this.sendSessionUpdate(this.initialSettings(), true);
  }

  // ── provider differences ────────────────────────────────────────────────────────────────────

  /** The provider's `session.update` message for these settings. */
  protected abstract sessionUpdateMessage(settings: SessionSettings, initial: boolean): object;

  /** The usage a `response.done` carries, as the provider sends it (normalized here). */
  protected abstract rawUsage(event: Extract<RealtimeServerEvent, { type: 'response.done' }> & Record<string, unknown>): unknown;

  /** Provider-only server events. Return true when handled (the shared mapping is then skipped). */
  protected handleProviderEvent(_event: IncomingEvent): boolean {
    return false;
  }

  // ── client → provider ───────────────────────────────────────────────────────────────────────

  send(event: ClientEvent): void {
    if (this.isClosed) return;
    switch (event.type) {
      case 'audio.append':
        // Hot path: the gateway passes only base64 audio (client-events.ts), and resampling gives
        // base64 too — nothing to escape — so concatenation gives JSON.stringify's bytes of
        // `{type: 'input_audio_buffer.append', audio}` without its scan of the audio.
        return this.sendSerialized('{"type":"input_audio_buffer.append","audio":"' + this.toUpstreamAudio(event.audio) + '"}');
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

  protected sendEvent(event: RealtimeClientEvent): void {
    this.sendJson(event);
  }

  private sendUserMessage(content: RealtimeConversationItemUserMessage.Content[]): void {
    const item: ConversationItem = { type: 'message', role: 'user', content };
    this.sendEvent({ type: 'conversation.item.create', item });
  }

  private sendToolResult(callId: string, result: unknown): void {
    if (!this.openToolCalls.delete(callId)) {
      this.emitError(ErrorCode.UnknownToolCall, `tool.result: no open tool call with id "${callId}"`);
      return;
    }
    const output = typeof result === 'string' ? result : (JSON.stringify(result) ?? 'null');
    this.sendEvent({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output } });
    // PROTOCOL.md §5: the client does not send response.create after tool.result; the model
    // continues because the gateway asks it to — once the response that called the tool is done
    // (a response.create during an active response is an error on OpenAI and cancels it on xAI)
    // and every call of that response has its result.
    this.continuationPending = true;
    this.maybeContinue();
  }

  private maybeContinue(): void {
    if (!this.continuationPending || this.activeResponses > 0 || this.openToolCalls.size > 0) return;
    this.continuationPending = false;
    this.sendEvent({ type: 'response.create' });
  }

  private toUpstreamAudio(audio: string): string {
    if (this.inputSampleRate === this.options.upstreamInputRate) return audio;
    return pcmToBase64(resamplePcm16(pcmFromBase64(audio), this.inputSampleRate, this.options.upstreamInputRate));
  }

  private toClientAudio(audio: string): string {
    if (this.outputSampleRate === this.options.upstreamOutputRate) return audio;
    return pcmToBase64(resamplePcm16(pcmFromBase64(audio), this.options.upstreamOutputRate, this.outputSampleRate));
  }

  // ── session settings ────────────────────────────────────────────────────────────────────────

  private initialSettings(): SessionSettings {
    const settings = this.settingsFor(this.config, SETTING_FIELDS, true);
    if (settings.turnDetection === undefined && this.options.defaultTurnDetection) settings.turnDetection = this.options.defaultTurnDetection;
    return settings;
  }

  private updateSession(next: SessionConfig, changed: readonly string[]): void {
    const locked = this.options.startOnlyFields.filter((f) => !sameConfigValue(this.config[f], next[f]));
    if (locked.length) {
      this.emitError(
        TRANSCRIPTION_LOCKED,
        `${locked.map((f) => `config.${f}`).join(', ')} cannot change during a ${this.options.providerLabel} session; it keeps its value from session.start`,
      );
    }
    const previous = this.config;
    const kept: Partial<SessionConfig> = {};
    for (const field of this.options.startOnlyFields) (kept as Record<string, unknown>)[field] = previous[field];
    this.config = { ...next, ...kept };
    const fields = SETTING_FIELDS.filter(
      (f) => !this.options.startOnlyFields.includes(f) && (changed.includes(f) || !sameConfigValue(previous[f], next[f])),
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
      const voice = isZeroValue(config.voice) ? this.options.model.defaultVoice : (config.voice as string);
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
      else if (!initial) settings.turnDetection = this.options.defaultTurnDetection ?? { type: 'server_vad' };
    }
    if (has('input_transcription') || has('input_transcription_model')) {
      if (config.input_transcription === true) {
        settings.transcription = { model: isZeroValue(config.input_transcription_model) ? this.options.defaultTranscriptionModel : config.input_transcription_model! };
      } else if (!initial) {
        settings.transcription = null;
      }
    }
    if (has('reasoning_effort') && !isZeroValue(config.reasoning_effort)) settings.reasoningEffort = config.reasoning_effort!;
    return settings;
  }

  private sendSessionUpdate(settings: SessionSettings, initial: boolean): void {
    this.sendJson(this.sessionUpdateMessage(settings, initial));
  }

  // ── provider → client ───────────────────────────────────────────────────────────────────────

  protected onUpstreamMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) return; // both providers send JSON text frames only
    const parsed = JSON.parse(data.toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { type?: unknown }).type !== 'string') {
      throw new Error('not a JSON object with a string "type"');
    }
    const event = parsed as IncomingEvent;
    if (this.handleProviderEvent(event)) return;
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
        if (typeof event.delta === 'string' && event.delta) this.emit({ type: 'audio.delta', audio: this.toClientAudio(event.delta) });
        return;
      case 'response.output_audio_transcript.delta':
        // The model's transcript of its own speech, when the client asked for it (PROTOCOL.md §4).
        if (this.config.output_transcription === true) this.emitText(event.delta);
        return;
      case 'response.output_text.delta':
        return this.emitText(event.delta);
      case 'response.function_call_arguments.done':
        // Only complete arguments reach the client (never the .delta events).
        this.openToolCalls.add(event.call_id);
        return this.emit({ type: 'tool.call', tool_call_id: event.call_id, tool_name: event.name, tool_arguments: event.arguments });
      case 'response.done':
        return this.onResponseDone(event as Extract<RealtimeServerEvent, { type: 'response.done' }> & Record<string, unknown>);
      default:
        return; // lifecycle detail the normalized protocol does not carry (items, parts, rate limits…)
    }
  }

  protected emitText(delta: unknown): void {
    if (typeof delta === 'string' && delta) this.emit({ type: 'text.delta', delta });
  }

  private onResponseDone(event: Extract<RealtimeServerEvent, { type: 'response.done' }> & Record<string, unknown>): void {
    this.activeResponses = Math.max(0, this.activeResponses - 1);
    const usage = normalizeUsage(this.rawUsage(event));
    if (usage) this.emit({ type: 'usage', usage });
    this.emit({ type: 'response.completed' });
    this.maybeContinue();
  }

  private onProviderError(code: string | null | undefined, message: string | undefined): void {
    const text = typeof message === 'string' && message ? message : `${this.options.providerLabel} reported an error`;
    // Before `session.updated`, the only thing sent is the initial session.update: it was refused.
    if (!this.readyConfirmed) {
      this.fail({ code: ErrorCode.UpstreamError, message: `${this.options.providerLabel} refused the session: ${text}`, closeCode: 1011 });
      return;
    }
    // Provider errors stay non-fatal (UPSTREAMS.md §1.5): the session ends only if the socket closes.
    this.emitError(typeof code === 'string' && code ? code : ErrorCode.UpstreamError, text);
  }

  protected emitError(code: string, message: string): void {
    this.emit({ type: 'error', error: { code, message } });
  }

  protected override markReady(): void {
    this.readyConfirmed = true;
    super.markReady();
  }

  // ── endings ─────────────────────────────────────────────────────────────────────────────────

  /**
   * A close the gateway did not ask for. 1001 (the provider is going away, e.g. after
   * `session_expired`) stays 1001 so the client knows it may reconnect; a 1000 stays a normal end;
   * anything else (1006 abnormal, 1011, 4000…) is an upstream failure, 1011. The code is always
   * `upstream_closed`; the provider's reason is in the message.
   */
  protected endForClose(code: number, reason: string): UpstreamEnd {
    const why = reason ? ` ${reason.slice(0, 200)}` : '';
    // A normal close or a going-away (e.g. after session_expired) is an end; anything else a failure.
    const normal = code === 1000 || code === 1001;
    return {
      code: normal ? ErrorCode.UpstreamClosed : ErrorCode.UpstreamError,
      message: `${this.options.providerLabel} closed the connection (${code}${why})`,
      closeCode: normal ? code : 1011,
    };
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

// ── opening ───────────────────────────────────────────────────────────────────────────────────

export interface OpenCompatibleSocketOptions {
  url: string;
  headers?: Record<string, string>;
  protocols?: string[];
  /** Connect + confirmation budget, from the provider credentials. */
  connectTimeoutMs: number;
  /** When the budget started (e.g. before a client-secret exchange). Default: now. */
  startedAt?: number;
}

/**
 * Connects, builds the session, sends the initial `session.update` and waits for `session.updated`
 * within what remains of the timeout. Rejects with an UpstreamConnectError.
 */
export async function openCompatibleSession<S extends OpenAiCompatibleSession>(
  params: OpenUpstreamParams,
  socket: OpenCompatibleSocketOptions,
  create: (ws: WebSocket) => S,
): Promise<S> {
  const startedAt = socket.startedAt ?? Date.now();
  const remaining = () => socket.connectTimeoutMs - (Date.now() - startedAt);
  if (remaining() <= 0) throw new UpstreamConnectError('The upstream did not confirm the session in time');
  const ws = await openUpstreamSocket({
    url: socket.url,
    headers: socket.headers,
    protocols: socket.protocols,
    signal: params.signal,
    connectTimeoutMs: remaining(),
  });
  const session = create(ws);
  session.start();
  await session.waitUntilReady(Math.max(1, remaining()), params.signal);
  return session;
}
