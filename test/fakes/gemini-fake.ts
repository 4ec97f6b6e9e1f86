// A strict fake of Google's Gemini Live API (BidiGenerateContent, Developer API), for tests that
// must not reach the network. It follows docs/providers.md §3 and the checklist of §6, and answers with
// the server side of REAL recorded sessions (test/fixtures/gemini-live/, from googleapis/js-genai)
// whenever what it received matches a recording's client side.
//
// What it enforces, like the real server:
// - the path `/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent`
//   (`v1` too: @google/genai 3.x defaults to it; repeated slashes are folded, as Google's front end
//   does: the SDK itself sends `//ws/…`); another path is an HTTP 404 before any upgrade. `v1alpha`
//   upgrades, then refuses every model with a plain key (1008, as observed).
// - `?key=`: a missing or wrong key closes 1007 "API key not valid. Please pass a valid API key."
//   when the first message arrives.
// - the first message must be `setup` (else 1007); a second `setup` is a 1007 too.
// - `setup.model` must be `models/<known model>`, else 1008 with Google's "… is not found for API
//   version v1beta, or is not supported for bidiGenerateContent. Call ModelService.ListModels …"
//   (cut at 123 bytes, the most a close frame can carry, as the real reason is).
// - proto-JSON strictness: an unknown field anywhere the fake looks closes 1007 "Invalid JSON payload
//   received. Unknown name "x" at 'setup.generation_config': Cannot find field."; a message with
//   more than one top-level field, or a `realtimeInput` with more than one field, is a 1007.
// - `responseModalities` holds exactly one of AUDIO / TEXT; TEXT on a native-audio model closes 1007
//   "Cannot extract voices from a non-audio request."; an unknown prebuilt voice is a 1007.
// - 3.x models take `clientContent` only as initial history (`historyConfig`), else 1007 [INF].
// - activity signals: `activityStart`/`activityEnd` only with automatic activity detection
//   disabled, and audio/text/video only inside an activity then; `audioStreamEnd` only with it
//   enabled. Anything else is a 1007 [INF: the docs say "should only be sent when…"].
// - `toolResponse`: each `response` must be a JSON object (1007 otherwise) and each id one of the
//   pending `toolCall`s (1008 "Requested entity was not found." otherwise, as observed live).
//
// What it sends: binary frames of pretty-printed JSON (2-space indent, trailing newline, exactly as
// recorded); `setupComplete: {}`; input/output transcriptions only when `setup` enabled them; turns
// end with `generationComplete` then `turnComplete` + `usageMetadata`; a barge-in (activityStart,
// or loud audio with automatic detection) gets `interrupted` then `turnComplete` (and
// `toolCallCancellation` for calls still pending); tool call ids are `function-call-<digits>`; a
// `toolResponse` continues the turn. `goAway()` and `closeWith()` script the endings. When `setup`
// asks for `sessionResumption`, a `sessionResumptionUpdate` with a fresh handle follows
// `setupComplete` and every finished turn; a `setup` carrying a handle must name one this fake
// issued (else 1008 "Requested entity was not found.") and records which connection it resumes.
//
// Replay: a recording's reply is sent verbatim when the session asked for the recording's reply
// modality. Otherwise its content is re-rendered in the session's modality from real pieces: a
// recorded text reply becomes `outputTranscription` frames (when enabled) plus audio frames cut
// from the real 24 kHz model speech of the Vertex recording; recorded tool call ids are replaced by
// fresh `function-call-<digits>` ids. What no recording holds is synthesized, in the recorded
// shapes: `turnComplete` + `usageMetadata` when the recording stopped before it, the
// `inputTranscription` of the known speech file, and the model's words after a tool response.
// Input that matches no recording gets the reply of the "what should we talk about?" recording.
import { randomInt } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type {
  AutomaticActivityDetection,
  Content,
  FunctionCall,
  FunctionDeclaration,
  FunctionResponse,
  GenerationConfig,
  LiveClientContent,
  LiveClientMessage,
  LiveClientRealtimeInput,
  LiveClientSetup,
  LiveClientToolResponse,
  Part,
  RealtimeInputConfig,
  SessionResumptionConfig,
  SpeechConfig,
  Tool,
  UsageMetadata,
  VoiceConfig,
} from '@google/genai';
import WebSocket, { WebSocketServer } from 'ws';
import type { GeminiClientMessage, GeminiServerMessage } from '../../src/providers/gemini/gemini-wire.js';
import { readRecording, type RecordedFrame } from './recording.js';

export const GEMINI_FAKE_API_KEY = 'test-key';

const LIVE_PATH = /^\/ws\/google\.ai\.generativelanguage\.(v1beta|v1|v1alpha)\.GenerativeService\.BidiGenerateContent$/;

/** Close reasons as Gemini words them (docs/providers.md §3.5). */
export const GeminiCloseReason = {
  InvalidArgument: 'Request contains an invalid argument.',
  InvalidKey: 'API key not valid. Please pass a valid API key.',
  NonAudioVoices: 'Cannot extract voices from a non-audio request.',
  EntityNotFound: 'Requested entity was not found.',
  Internal: 'Internal error encountered.',
  DeadlineExpired: 'Deadline expired before operation could complete.',
} as const;

/** Google's reason for an unknown model, cut to the 123 bytes a close frame can carry. */
export function modelNotFoundReason(model: string, apiVersion = 'v1beta'): string {
  return closeReason(
    `${model} is not found for API version ${apiVersion}, or is not supported for bidiGenerateContent. ` +
      'Call ModelService.ListModels to see the list of available models and their supported methods.',
  );
}

/** A close frame carries at most 123 bytes of reason; longer ones are cut, as Google's are. */
export function closeReason(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}

export const GEMINI_VOICES = [
  'Achernar', 'Achird', 'Algenib', 'Algieba', 'Alnilam', 'Aoede', 'Autonoe', 'Callirrhoe', 'Charon', 'Despina',
  'Enceladus', 'Erinome', 'Fenrir', 'Gacrux', 'Iapetus', 'Kore', 'Laomedeia', 'Leda', 'Orus', 'Pulcherrima',
  'Puck', 'Rasalgethi', 'Sadachbia', 'Sadaltager', 'Schedar', 'Sulafat', 'Umbriel', 'Vindemiatrix', 'Zephyr', 'Zubenelgenubi',
];

export interface FakeGeminiModel {
  /** Native-audio models answer in AUDIO only (TEXT → close 1007). */
  nativeAudio: boolean;
  /** 3.x: `clientContent` only seeds history, with `historyConfig.initialHistoryInClientContent`. */
  historyOnlyClientContent: boolean;
}

const NATIVE_3X: FakeGeminiModel = { nativeAudio: true, historyOnlyClientContent: true };
const NATIVE_25: FakeGeminiModel = { nativeAudio: true, historyOnlyClientContent: false };

/** Live models the Developer API serves today (docs/providers.md §3.4, plus our catalogue's translate model). */
export const CURRENT_GEMINI_MODELS: Readonly<Record<string, FakeGeminiModel>> = {
  'gemini-3.1-flash-live-preview': NATIVE_3X,
  'gemini-3.5-live-translate-preview': NATIVE_3X,
  'gemini-3.8-live': NATIVE_3X,
  'gemini-3.8-live-extended-thinking': NATIVE_3X,
  'gemini-2.5-flash-native-audio-preview-12-2025': NATIVE_25,
  'gemini-2.5-flash-native-audio-latest': NATIVE_25,
};

/**
 * The model the recordings were made with (a half-cascade model with TEXT replies, retired since:
 * today it is a 1008). Add it through `models` to replay the recordings exactly as they happened.
 */
export const RECORDED_GEMINI_MODELS: Readonly<Record<string, FakeGeminiModel>> = {
  'gemini-live-2.5-flash-preview': { nativeAudio: false, historyOnlyClientContent: false },
};

export interface GeminiFakeOptions {
  /** The one valid key. Default `test-key`. */
  apiKey?: string;
  /** Known models by name (without `models/`). Default: CURRENT_GEMINI_MODELS. */
  models?: Record<string, FakeGeminiModel>;
  /** Pause between two frames of a model turn (real turns stream over time). Default 2 ms. */
  frameIntervalMs?: number;
}

export interface FakeClose {
  code: number;
  reason: string;
  /** Who closed: the fake (a refusal or a scripted end) or the client. */
  by: 'fake' | 'client';
}

// ── proto-JSON strictness: the fields each message may have ────────────────────────────────────
// Typed against the SDK's own types: a field the protocol renamed or dropped is a compile error.

type Fields<T> = Record<keyof T, true>;

const MESSAGE_FIELDS: Fields<LiveClientMessage> = { setup: true, clientContent: true, realtimeInput: true, toolResponse: true, contextUpdate: true };
const SETUP_FIELDS: Fields<LiveClientSetup> = {
  model: true, generationConfig: true, systemInstruction: true, tools: true, realtimeInputConfig: true, sessionResumption: true,
  contextWindowCompression: true, inputAudioTranscription: true, outputAudioTranscription: true, proactivity: true,
  historyConfig: true, explicitVadSignal: true, avatarConfig: true, safetySettings: true, labels: true,
};
const GENERATION_FIELDS: Fields<GenerationConfig> = {
  modelSelectionConfig: true, responseJsonSchema: true, audioTranscriptionConfig: true, audioTimestamp: true, candidateCount: true,
  enableAffectiveDialog: true, frequencyPenalty: true, logprobs: true, maxOutputTokens: true, mediaResolution: true,
  presencePenalty: true, responseFormat: true, responseLogprobs: true, responseMimeType: true, responseModalities: true,
  responseSchema: true, routingConfig: true, seed: true, speechConfig: true, stopSequences: true, temperature: true,
  thinkingConfig: true, topK: true, topP: true, enableEnhancedCivicAnswers: true, translationConfig: true,
};
const SPEECH_FIELDS: Fields<SpeechConfig> = { voiceConfig: true, languageCode: true, multiSpeakerVoiceConfig: true };
const VOICE_FIELDS: Fields<VoiceConfig> = { replicatedVoiceConfig: true, prebuiltVoiceConfig: true, voice: true };
const REALTIME_CONFIG_FIELDS: Fields<RealtimeInputConfig> = {
  automaticActivityDetection: true, activityHandling: true, turnCoverage: true, interimTranscriptTimestampEnabled: true,
};
const ACTIVITY_DETECTION_FIELDS: Fields<AutomaticActivityDetection> = {
  disabled: true, startOfSpeechSensitivity: true, endOfSpeechSensitivity: true, prefixPaddingMs: true, silenceDurationMs: true,
};
const TOOL_FIELDS: Fields<Tool> = {
  retrieval: true, googleMaps: true, mcpServers: true, codeExecution: true, computerUse: true, enterpriseWebSearch: true,
  exaAiSearch: true, functionDeclarations: true, googleSearch: true, googleSearchRetrieval: true, parallelAiSearch: true,
  urlContext: true, fileSearch: true,
};
const FUNCTION_FIELDS: Fields<FunctionDeclaration> = {
  behavior: true, description: true, name: true, parameters: true, parametersJsonSchema: true, response: true, responseJsonSchema: true,
};
const CONTENT_FIELDS: Fields<Content> = { parts: true, role: true };
const REALTIME_INPUT_FIELDS: Fields<LiveClientRealtimeInput> = {
  mediaChunks: true, audio: true, audioStreamEnd: true, video: true, text: true, activityStart: true, activityEnd: true,
};
const RESUMPTION_FIELDS: Fields<SessionResumptionConfig> = { handle: true, transparent: true };
const CLIENT_CONTENT_FIELDS: Fields<LiveClientContent> = { turns: true, turnComplete: true };
const TOOL_RESPONSE_FIELDS: Fields<LiveClientToolResponse> = { functionResponses: true };
const FUNCTION_RESPONSE_FIELDS: Fields<FunctionResponse> = { id: true, name: true, parts: true, response: true, scheduling: true, willContinue: true };

class Refusal extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Refuses `value` (at proto path `at`, e.g. `setup.generation_config`) if it has an unknown field. */
function checkFields(value: unknown, fields: Record<string, true>, at: string): void {
  if (!isObject(value)) throw new Refusal(1007, closeReason(`Invalid value at '${at}': expected an object.`));
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(fields, key)) {
      const where = at ? ` at '${at}'` : '';
      throw new Refusal(1007, closeReason(`Invalid JSON payload received. Unknown name "${key}"${where}: Cannot find field.`));
    }
  }
}

const invalidArgument = (): Refusal => new Refusal(1007, GeminiCloseReason.InvalidArgument);

// ── what a session asked for in `setup` ─────────────────────────────────────────────────────────

interface Profile {
  modality: 'AUDIO' | 'TEXT';
  transcribesInput: boolean;
  transcribesOutput: boolean;
  manual: boolean;
  tools: Set<string>;
}

function profileOf(setup: LiveClientSetup): Profile {
  const tools = new Set<string>();
  for (const tool of (setup.tools ?? []) as Tool[]) for (const fn of tool.functionDeclarations ?? []) if (fn.name) tools.add(fn.name);
  return {
    modality: String(setup.generationConfig?.responseModalities?.[0] ?? 'AUDIO') === 'TEXT' ? 'TEXT' : 'AUDIO',
    transcribesInput: setup.inputAudioTranscription !== undefined,
    transcribesOutput: setup.outputAudioTranscription !== undefined,
    manual: setup.realtimeInputConfig?.automaticActivityDetection?.disabled === true,
    tools,
  };
}

// ── the recordings, as exchanges: one user input and the server frames that answered it ─────────

interface UserInput {
  /** PCM16 16 kHz (as sent: the fake does not resample). */
  audio: Buffer;
  texts: string[];
}

interface Exchange {
  recording: string;
  profile: Profile;
  developerApi: boolean;
  audio: Buffer;
  text: string;
  reply: RecordedFrame[];
  /** The reply holds model content (not only the end of the turn). */
  hasContent: boolean;
}

const FIXTURES = new URL('../fixtures/', import.meta.url);
const OUTPUT_RATE = 24000;
/** 100 ms of 24 kHz PCM16: the size of the audio frames the fake cuts from recorded speech. */
const SPEECH_CHUNK_BYTES = 4800;
/** Known speech files and what is said in them (from the file name; the recordings hold no input transcription). */
const KNOWN_SPEECH = [{ file: 'audio/hello_are_you_there.16k.pcm', transcript: 'Hello, are you there?' }];
const FALLBACK_RECORDING = 'live_ML_Dev_should_receive_transcription_in_async_session_with_transcription_enabled.websocket.log';

const isEndFrame = (frame: RecordedFrame): boolean => {
  const content = (frame.json as GeminiServerMessage).serverContent;
  return content?.generationComplete === true || content?.turnComplete === true;
};

class ReplayLibrary {
  readonly exchanges: Exchange[] = [];
  /** Real model speech (24 kHz PCM16), cut in 100 ms chunks. */
  readonly speech: Buffer[] = [];
  readonly transcripts: Array<{ audio: Buffer; text: string }> = [];

  private static loaded: ReplayLibrary | undefined;

  static get(): ReplayLibrary {
    ReplayLibrary.loaded ??= new ReplayLibrary();
    return ReplayLibrary.loaded;
  }

  private constructor() {
    const dir = new URL('gemini-live/', FIXTURES);
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.websocket.log')).sort()) {
      const exchange = toExchange(readRecording(new URL(file, dir).pathname).frames, file);
      if (exchange) this.exchanges.push(exchange);
    }
    const speech = Buffer.concat(
      this.exchanges.flatMap((exchange) =>
        exchange.reply.flatMap((frame) =>
          ((frame.json as GeminiServerMessage).serverContent?.modelTurn?.parts ?? []).flatMap((part) =>
            part.inlineData?.data && part.inlineData.mimeType?.startsWith('audio/') ? [Buffer.from(part.inlineData.data, 'base64')] : [],
          ),
        ),
      ),
    );
    for (let at = 0; at + 2 <= speech.length; at += SPEECH_CHUNK_BYTES) this.speech.push(speech.subarray(at, Math.min(speech.length, at + SPEECH_CHUNK_BYTES)));
    if (this.speech.length === 0) throw new Error('gemini-fake: no recorded model speech in test/fixtures/gemini-live/');
    for (const known of KNOWN_SPEECH) this.transcripts.push({ audio: readFileSync(new URL(known.file, FIXTURES)), text: known.transcript });
  }

  /** A recorded utterance, complete: with automatic activity detection, the fake's "end of speech". */
  isRecordedUtterance(audio: Buffer): boolean {
    return this.exchanges.some((exchange) => exchange.audio.length === audio.length && exchange.audio.equals(audio));
  }

  transcriptOf(audio: Buffer): string | undefined {
    return this.transcripts.find((known) => known.audio.equals(audio))?.text;
  }

  /** The recording that best answers `input` in a session set up as `profile`. */
  find(input: UserInput, profile: Profile): Exchange {
    const text = input.texts.join(' ').trim();
    let best: Exchange | undefined;
    let bestScore = -1;
    for (const exchange of this.exchanges) {
      if (!exchange.hasContent || exchange.text !== text || !exchange.audio.equals(input.audio)) continue;
      // A model only calls functions the session declared.
      if (exchange.reply.some((frame) => ((frame.json as GeminiServerMessage).toolCall?.functionCalls ?? []).some((call) => !profile.tools.has(call.name ?? '')))) continue;
      const score =
        (exchange.profile.modality === profile.modality ? 8 : 0) +
        (exchange.profile.transcribesOutput === profile.transcribesOutput ? 4 : 0) +
        (exchange.profile.manual === profile.manual ? 2 : 0) +
        (exchange.developerApi ? 1 : 0);
      if (score > bestScore) [best, bestScore] = [exchange, score];
    }
    return best ?? this.exchanges.find((exchange) => exchange.recording === FALLBACK_RECORDING)!;
  }

  /** The recorded end of `exchange`'s turn, or of another recording of the same input. */
  endFramesFor(exchange: Exchange): RecordedFrame[] {
    for (const candidate of [exchange, ...this.exchanges]) {
      if (candidate.text !== exchange.text || !candidate.audio.equals(exchange.audio)) continue;
      const end = candidate.reply.filter(isEndFrame);
      if (end.some((frame) => (frame.json as GeminiServerMessage).serverContent?.turnComplete)) return end;
    }
    return [];
  }
}

function toExchange(frames: RecordedFrame[], recording: string): Exchange | undefined {
  const setup = (frames[0]?.json as GeminiClientMessage | undefined)?.setup;
  if (!setup) return undefined;
  let at = 1;
  while (frames[at]?.direction === 'server') at++; // setupComplete
  const audio: Buffer[] = [];
  const texts: string[] = [];
  for (; frames[at]?.direction === 'client'; at++) {
    const message = frames[at].json as GeminiClientMessage;
    const input = message.realtimeInput;
    if (input?.audio?.data) audio.push(Buffer.from(input.audio.data, 'base64'));
    for (const chunk of input?.mediaChunks ?? []) if (chunk.data) audio.push(Buffer.from(chunk.data, 'base64'));
    if (typeof input?.text === 'string') texts.push(input.text);
    for (const turn of (message.clientContent?.turns ?? []) as Content[]) for (const part of turn.parts ?? []) if (part.text) texts.push(part.text);
  }
  const reply: RecordedFrame[] = [];
  for (; frames[at]?.direction === 'server'; at++) reply.push(frames[at]);
  if (audio.length === 0 && texts.length === 0) return undefined;
  return {
    recording,
    profile: profileOf(setup),
    developerApi: setup.model?.startsWith('models/') ?? false,
    audio: Buffer.concat(audio),
    text: texts.join(' ').trim(),
    reply,
    hasContent: reply.some((frame) => !isEndFrame(frame)),
  };
}

// ── one fake connection ─────────────────────────────────────────────────────────────────────────

interface Step {
  payload: string;
  json: GeminiServerMessage;
}
type PlannedStep = Step | { awaitTools: true };

interface Playback {
  steps: PlannedStep[];
  timer: NodeJS.Timeout | undefined;
  /** Tool calls sent and not answered: id → name. */
  pendingCalls: Map<string, string>;
  waitingForTools: boolean;
  input: UserInput;
}

/** Pretty-printed as Google's servers do (2-space indent, trailing newline). */
function pretty(message: GeminiServerMessage): Step {
  return { payload: `${JSON.stringify(message, null, 2)}\n`, json: message };
}

function newCallId(): string {
  return `function-call-${randomInt(1, 2 ** 47)}${randomInt(1_000_000, 9_999_999)}`;
}

function hasSpeech(pcm: Buffer): boolean {
  for (let at = 0; at + 1 < pcm.length; at += 2) if (Math.abs(pcm.readInt16LE(at)) > 2000) return true;
  return false;
}

export class GeminiFakeSession {
  /** Every client message, parsed, in order (also those that got the session closed). */
  readonly received: GeminiClientMessage[] = [];
  /** Every server message sent, parsed, in order. */
  readonly sent: GeminiServerMessage[] = [];
  /** The accepted `setup`. */
  setup: LiveClientSetup | undefined;
  /** Model turns ended (`turnComplete` sent). */
  turnsCompleted = 0;
  /**
   * Session resumption: the connection whose handle this one's `setup` carried (the handle must be
   * one this fake issued, else 1008), and the handles issued on this connection, in order.
   */
  resumedFrom: { session: GeminiFakeSession; handle: string } | undefined;
  readonly issuedHandles: string[] = [];
  readonly closed: Promise<FakeClose>;
  closeInfo: FakeClose | undefined;

  private profile: Profile | undefined;
  private model: FakeGeminiModel | undefined;
  private activityOpen = false;
  private turnAudio: Buffer[] = [];
  private turnTexts: string[] = [];
  private playback: Playback | undefined;
  private readonly queued: UserInput[] = [];
  private closingByFake = false;
  private readonly waiters = new Set<() => void>();
  private speechCursor = 0;

  constructor(
    private readonly ws: WebSocket,
    /** The `key` query parameter (null when absent). */
    readonly apiKey: string | null,
    readonly apiVersion: string,
    private readonly fake: GeminiFake,
  ) {
    this.closed = new Promise<FakeClose>((resolve) => {
      ws.on('close', (code, reason) => {
        this.stopPlayback();
        this.closeInfo = { code, reason: reason.toString('utf8'), by: this.closingByFake ? 'fake' : 'client' };
        this.wake();
        resolve(this.closeInfo);
      });
    });
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer) => this.onFrame(data));
  }

  // ── scripting, for tests ──

  /** Announces the end of the connection (`goAway.timeLeft`, a Duration string). */
  goAway(timeLeft = '10s'): void {
    this.send(pretty({ goAway: { timeLeft } }));
  }

  /** Closes the connection as Gemini does on a failure: a close frame with a code and a reason. */
  closeWith(code: number, reason = ''): void {
    if (this.closingByFake || this.ws.readyState !== WebSocket.OPEN) return;
    this.closingByFake = true;
    this.stopPlayback();
    this.ws.close(code, closeReason(reason));
  }

  /** Sends any server message (pretty JSON in a binary frame), e.g. a `voiceActivity` signal. */
  sendMessage(message: GeminiServerMessage): void {
    this.send(pretty(message));
  }

  /** Sends a frame as is (e.g. something malformed, or JSON in a text frame). */
  sendRaw(payload: string, binary = false): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(payload, { binary });
  }

  /** Whether a model turn is being sent (or waits for a tool response). */
  get modelTurnActive(): boolean {
    return this.playback !== undefined;
  }

  /** Client messages after `setup`. */
  get inputs(): GeminiClientMessage[] {
    return this.received.slice(1);
  }

  /** Resolves with the first received message matching `predicate` (waiting for it). */
  waitForMessage(predicate: (message: GeminiClientMessage) => boolean, what = 'a matching client message', timeoutMs = 5000): Promise<GeminiClientMessage> {
    return this.until(() => this.received.find(predicate), what, timeoutMs);
  }

  /** Resolves once `count` model turns have ended. */
  waitForTurns(count: number, timeoutMs = 5000): Promise<void> {
    return this.until(() => (this.turnsCompleted >= count ? true : undefined), `${count} completed turn(s)`, timeoutMs).then(() => undefined);
  }

  until<T>(check: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const attempt = (): boolean => {
        const value = check();
        if (value !== undefined) {
          finish();
          resolve(value);
          return true;
        }
        if (this.closeInfo) {
          finish();
          reject(new Error(`gemini-fake: closed (${this.closeInfo.code} ${this.closeInfo.reason}) before ${what}`));
          return true;
        }
        return false;
      };
      const waiter = (): void => void attempt();
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`gemini-fake: timed out after ${timeoutMs} ms waiting for ${what}; received ${describe(this.received)}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      if (!attempt()) this.waiters.add(waiter);
    });
  }

  // ── the protocol ──

  private onFrame(data: Buffer): void {
    if (this.closingByFake || this.closeInfo) return;
    let message: unknown;
    try {
      message = JSON.parse(data.toString('utf8'));
    } catch {
      return this.closeWith(1007, 'Invalid JSON payload received. Unexpected token.');
    }
    if (isObject(message)) this.received.push(message as GeminiClientMessage);
    this.wake();
    try {
      checkFields(message, MESSAGE_FIELDS, '');
      if (this.received.length === 1 && this.apiKey !== this.fake.apiKey) throw new Refusal(1007, GeminiCloseReason.InvalidKey);
      const kinds = Object.keys(message as object);
      if (kinds.length !== 1) throw invalidArgument();
      const typed = message as GeminiClientMessage;
      if (!this.setup) {
        if (!typed.setup) throw invalidArgument();
        return this.onSetup(typed.setup);
      }
      if (typed.setup) throw invalidArgument();
      if (typed.realtimeInput !== undefined) return this.onRealtimeInput(typed.realtimeInput);
      if (typed.clientContent !== undefined) return this.onClientContent(typed.clientContent);
      if (typed.toolResponse !== undefined) return this.onToolResponse(typed.toolResponse);
      // contextUpdate: accepted, nothing in the fake depends on it.
    } catch (err) {
      if (err instanceof Refusal) return this.closeWith(err.code, err.reason);
      throw err;
    }
  }

  private onSetup(setup: unknown): void {
    checkFields(setup, SETUP_FIELDS, 'setup');
    const typed = setup as LiveClientSetup;
    if (typeof typed.model !== 'string' || typed.model === '') throw invalidArgument();
    const name = typed.model.startsWith('models/') ? typed.model.slice('models/'.length) : undefined;
    const model = name === undefined || this.apiVersion === 'v1alpha' ? undefined : this.fake.models[name];
    if (!model) throw new Refusal(1008, modelNotFoundReason(typed.model, this.apiVersion));

    if (typed.generationConfig !== undefined) {
      checkFields(typed.generationConfig, GENERATION_FIELDS, 'setup.generation_config');
      const modalities = typed.generationConfig.responseModalities;
      if (modalities !== undefined && (!Array.isArray(modalities) || modalities.length !== 1 || !['AUDIO', 'TEXT'].includes(String(modalities[0])))) {
        throw invalidArgument();
      }
      const speech = typed.generationConfig.speechConfig;
      if (speech !== undefined) {
        checkFields(speech, SPEECH_FIELDS, 'setup.generation_config.speech_config');
        if (speech.voiceConfig !== undefined) {
          checkFields(speech.voiceConfig, VOICE_FIELDS, 'setup.generation_config.speech_config.voice_config');
          const voice = speech.voiceConfig.prebuiltVoiceConfig?.voiceName;
          if (voice !== undefined && !GEMINI_VOICES.includes(voice)) throw invalidArgument();
        }
      }
    }
    const profile = profileOf(typed);
    if (profile.modality === 'TEXT' && model.nativeAudio) throw new Refusal(1007, GeminiCloseReason.NonAudioVoices);
    if (typed.systemInstruction !== undefined) {
      checkFields(typed.systemInstruction, CONTENT_FIELDS, 'setup.system_instruction');
      const parts = (typed.systemInstruction as Content).parts;
      if (!Array.isArray(parts) || parts.some((part: Part) => typeof part?.text !== 'string')) throw invalidArgument();
    }
    if (typed.tools !== undefined) {
      if (!Array.isArray(typed.tools)) throw invalidArgument();
      typed.tools.forEach((tool, i) => {
        checkFields(tool, TOOL_FIELDS, `setup.tools[${i}]`);
        for (const [j, fn] of ((tool as Tool).functionDeclarations ?? []).entries()) {
          checkFields(fn, FUNCTION_FIELDS, `setup.tools[${i}].function_declarations[${j}]`);
          if (typeof fn.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/.test(fn.name)) throw invalidArgument();
          if (fn.parameters !== undefined && fn.parametersJsonSchema !== undefined) throw invalidArgument();
        }
      });
    }
    if (typed.realtimeInputConfig !== undefined) {
      checkFields(typed.realtimeInputConfig, REALTIME_CONFIG_FIELDS, 'setup.realtime_input_config');
      const detection = typed.realtimeInputConfig.automaticActivityDetection;
      if (detection !== undefined) {
        checkFields(detection, ACTIVITY_DETECTION_FIELDS, 'setup.realtime_input_config.automatic_activity_detection');
      }
    }
    if (typed.sessionResumption !== undefined) {
      checkFields(typed.sessionResumption, RESUMPTION_FIELDS, 'setup.session_resumption');
      const handle = typed.sessionResumption.handle;
      if (handle !== undefined) {
        // Gemini refuses a handle it never issued (or one whose conversation expired).
        const from = typeof handle === 'string' ? this.fake.resumable.get(handle) : undefined;
        if (!from) throw new Refusal(1008, GeminiCloseReason.EntityNotFound);
        this.resumedFrom = { session: from, handle };
      }
    }
    this.setup = typed;
    this.profile = profile;
    this.model = model;
    this.send(pretty({ setupComplete: {} }));
    this.issueHandle();
  }

  /** `sessionResumptionUpdate` (only when `setup` asked for resumption): after setup and after each turn. */
  private issueHandle(): void {
    if (this.setup?.sessionResumption === undefined) return;
    const newHandle = `fake-handle-${this.fake.resumable.size + 1}-${randomInt(1e9)}`;
    this.fake.resumable.set(newHandle, this);
    this.issuedHandles.push(newHandle);
    this.send(pretty({ sessionResumptionUpdate: { newHandle, resumable: true } }));
  }

  private onRealtimeInput(input: unknown): void {
    checkFields(input, REALTIME_INPUT_FIELDS, 'realtime_input');
    const typed = input as LiveClientRealtimeInput;
    // At most one field per message (the server takes each as one event of the stream).
    if (Object.keys(typed).length !== 1) throw invalidArgument();
    const manual = this.profile!.manual;
    const inputOutsideActivity = manual && !this.activityOpen;
    if (typed.audio !== undefined || typed.mediaChunks !== undefined) {
      if (inputOutsideActivity) throw invalidArgument();
      for (const blob of typed.audio !== undefined ? [typed.audio] : typed.mediaChunks!) {
        const { data, mimeType } = (isObject(blob) ? blob : {}) as { data?: unknown; mimeType?: unknown };
        if (typeof data !== 'string' || typeof mimeType !== 'string' || !/^audio\/pcm(;\s*rate=\d+)?$/.test(mimeType)) throw invalidArgument();
        this.onAudio(Buffer.from(data, 'base64'));
      }
    } else if (typed.text !== undefined) {
      if (typeof typed.text !== 'string' || inputOutsideActivity) throw invalidArgument();
      if (manual) this.turnTexts.push(typed.text);
      else this.endUserTurn({ audio: Buffer.alloc(0), texts: [typed.text] });
    } else if (typed.video !== undefined) {
      if (inputOutsideActivity) throw invalidArgument();
    } else if (typed.audioStreamEnd !== undefined) {
      if (manual) throw invalidArgument();
      if (this.turnAudio.length) this.endUserTurn(this.takeTurnInput());
    } else if (typed.activityStart !== undefined) {
      if (!manual || this.activityOpen) throw invalidArgument();
      this.activityOpen = true;
      // START_OF_ACTIVITY_INTERRUPTS, the default activity handling.
      this.interrupt();
    } else if (typed.activityEnd !== undefined) {
      if (!manual || !this.activityOpen) throw invalidArgument();
      this.activityOpen = false;
      const input = this.takeTurnInput();
      if (input.audio.length || input.texts.length) this.endUserTurn(input);
    }
  }

  private onAudio(pcm: Buffer): void {
    const manual = this.profile!.manual;
    if (!manual && this.playback && hasSpeech(pcm)) this.interrupt();
    this.turnAudio.push(pcm);
    // Automatic activity detection: a recorded utterance ends in silence, which ends the turn.
    if (!manual && this.fake.library.isRecordedUtterance(Buffer.concat(this.turnAudio))) this.endUserTurn(this.takeTurnInput());
  }

  private onClientContent(content: unknown): void {
    checkFields(content, CLIENT_CONTENT_FIELDS, 'client_content');
    const typed = content as LiveClientContent;
    if (this.model!.historyOnlyClientContent && !this.setup!.historyConfig?.initialHistoryInClientContent) throw invalidArgument();
    const texts: string[] = [];
    for (const [i, turn] of ((typed.turns ?? []) as Content[]).entries()) {
      checkFields(turn, CONTENT_FIELDS, `client_content.turns[${i}]`);
      for (const part of turn.parts ?? []) if (part.text) texts.push(part.text);
    }
    if (typed.turnComplete && texts.length) this.endUserTurn({ audio: Buffer.alloc(0), texts });
  }

  private onToolResponse(response: unknown): void {
    checkFields(response, TOOL_RESPONSE_FIELDS, 'tool_response');
    const answers = (response as LiveClientToolResponse).functionResponses ?? [];
    const playback = this.playback;
    answers.forEach((answer, i) => {
      checkFields(answer, FUNCTION_RESPONSE_FIELDS, `tool_response.function_responses[${i}]`);
      if (!isObject(answer.response)) {
        throw new Refusal(1007, closeReason(`Invalid value at 'tool_response.function_responses[${i}].response' (type.googleapis.com/google.protobuf.Struct)`));
      }
      const name = answer.id === undefined ? undefined : playback?.pendingCalls.get(answer.id);
      if (name === undefined || name !== answer.name) throw new Refusal(1008, GeminiCloseReason.EntityNotFound);
    });
    if (!playback) return;
    for (const answer of answers) playback.pendingCalls.delete(answer.id!);
    const next = playback.steps[0];
    if (playback.pendingCalls.size === 0 && (playback.waitingForTools || (next && 'awaitTools' in next))) {
      // The model continues its turn by itself.
      playback.waitingForTools = false;
      const words = `Here is what I found: ${answers.map((answer) => JSON.stringify(answer.response)).join('; ')}.`;
      playback.steps = [...this.speak(words), ...this.synthesizedEnd(playback.input, words)];
      this.schedule();
    }
  }

  // ── model turns ──

  private takeTurnInput(): UserInput {
    const input = { audio: Buffer.concat(this.turnAudio), texts: this.turnTexts };
    this.turnAudio = [];
    this.turnTexts = [];
    return input;
  }

  private endUserTurn(input: UserInput): void {
    if (this.playback) this.queued.push(input);
    else this.startTurn(input);
  }

  private startTurn(input: UserInput): void {
    this.playback = { steps: this.plan(input), timer: undefined, pendingCalls: new Map(), waitingForTools: false, input };
    this.schedule();
  }

  private schedule(): void {
    const playback = this.playback;
    if (!playback || playback.timer || playback.waitingForTools) return;
    playback.timer = setTimeout(() => {
      playback.timer = undefined;
      this.step(playback);
    }, this.fake.frameIntervalMs);
  }

  private step(playback: Playback): void {
    if (this.playback !== playback || this.closeInfo || this.closingByFake) return;
    const next = playback.steps.shift();
    if (!next) return this.finishTurn();
    if ('awaitTools' in next) {
      playback.waitingForTools = true;
      return;
    }
    for (const call of next.json.toolCall?.functionCalls ?? []) playback.pendingCalls.set(call.id!, call.name!);
    this.send(next);
    if (next.json.serverContent?.turnComplete) return this.finishTurn();
    this.schedule();
  }

  private finishTurn(): void {
    this.playback = undefined;
    this.turnsCompleted += 1;
    this.issueHandle();
    this.wake();
    const next = this.queued.shift();
    if (next) this.startTurn(next);
  }

  /** Barge-in: the model stops, says so, and ends its turn (no generationComplete). */
  private interrupt(): void {
    const playback = this.playback;
    if (!playback) return;
    this.stopPlayback();
    if (playback.pendingCalls.size) this.send(pretty({ toolCallCancellation: { ids: [...playback.pendingCalls.keys()] } }));
    this.send(pretty({ serverContent: { interrupted: true } }));
    this.send(pretty({ serverContent: { turnComplete: true } }));
    this.finishTurn();
  }

  private stopPlayback(): void {
    if (this.playback?.timer) clearTimeout(this.playback.timer);
    this.playback = undefined;
  }

  /** The frames that answer `input`: a recording's reply, in the session's modality. */
  private plan(input: UserInput): PlannedStep[] {
    const profile = this.profile!;
    const steps: PlannedStep[] = [];
    const heard = input.audio.length ? this.fake.library.transcriptOf(input.audio) : undefined;
    if (profile.transcribesInput && heard) {
      // Transcriptions come in pieces.
      const words = heard.split(' ');
      const half = Math.ceil(words.length / 2);
      for (const piece of [words.slice(0, half).join(' '), ` ${words.slice(half).join(' ')}`]) {
        if (piece.trim()) steps.push(pretty({ serverContent: { inputTranscription: { text: piece } } }));
      }
    }
    const exchange = this.fake.library.find(input, profile);
    let words = '';
    for (const frame of exchange.reply) {
      const message = frame.json as GeminiServerMessage;
      const recorded: Step = { payload: frame.payload, json: message };
      if (isEndFrame(frame)) continue; // the end of the turn goes last, below
      if (message.toolCall) {
        const functionCalls = (message.toolCall.functionCalls ?? []).map((call: FunctionCall) => ({ ...call, id: newCallId() }));
        steps.push(pretty({ ...message, toolCall: { ...message.toolCall, functionCalls } }));
        continue;
      }
      const content = message.serverContent;
      const parts = content?.modelTurn?.parts ?? [];
      const spoken = content?.outputTranscription?.text;
      const written = parts.map((part) => (part.thought ? '' : (part.text ?? ''))).join('');
      const audio = parts.filter((part) => part.inlineData?.data && part.inlineData.mimeType?.startsWith('audio/'));
      if (spoken) {
        // A transcript of recorded speech: audio sessions hear it (and read it when they asked to).
        words += spoken;
        steps.push(...(profile.modality === 'TEXT' ? [pretty({ serverContent: { modelTurn: { parts: [{ text: spoken }] } } })] : this.speak(spoken, frame)));
      } else if (written) {
        // A recorded text reply: verbatim for text sessions, spoken for audio ones.
        words += written;
        steps.push(...(profile.modality === 'TEXT' ? [recorded] : this.speak(written)));
      } else if (audio.length) {
        // Recorded model speech, for audio sessions (Vertex says `audio/pcm`; the Developer API names the rate).
        if (profile.modality === 'AUDIO') {
          const named = audio.every((part) => /rate=\d+/.test(part.inlineData!.mimeType!));
          if (named) steps.push(recorded);
          else for (const part of audio) steps.push(this.audioFrame(Buffer.from(part.inlineData!.data!, 'base64')));
        }
      } else {
        steps.push(recorded); // executable code, grounding, …: as recorded
      }
    }
    if (steps.some((step) => 'json' in step && step.json.toolCall)) {
      steps.push({ awaitTools: true });
      return steps;
    }
    const recordedEnd = this.fake.library.endFramesFor(exchange);
    if (recordedEnd.length) steps.push(...recordedEnd.map((frame) => ({ payload: frame.payload, json: frame.json as GeminiServerMessage })));
    else steps.push(...this.synthesizedEnd(input, words));
    return steps;
  }

  /** `text` as the model says it: its transcript (when enabled) and audio frames of real speech. */
  private speak(text: string, recordedTranscript?: RecordedFrame): Step[] {
    const profile = this.profile!;
    if (profile.modality === 'TEXT') return [pretty({ serverContent: { modelTurn: { parts: [{ text }] } } })];
    const steps: Step[] = [];
    if (profile.transcribesOutput) {
      steps.push(recordedTranscript ? { payload: recordedTranscript.payload, json: recordedTranscript.json as GeminiServerMessage } : pretty({ serverContent: { outputTranscription: { text } } }));
    }
    const chunks = Math.max(1, Math.round(text.length / 12));
    for (let i = 0; i < chunks; i++) steps.push(this.audioFrame(this.fake.library.speech[this.speechCursor++ % this.fake.library.speech.length]));
    return steps;
  }

  private audioFrame(pcm: Buffer): Step {
    return pretty({ serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: `audio/pcm;rate=${OUTPUT_RATE}`, data: pcm.toString('base64') } }] } } });
  }

  /** `generationComplete`, then `turnComplete` + `usageMetadata` in the recorded shape. */
  private synthesizedEnd(input: UserInput, words: string): Step[] {
    const profile = this.profile!;
    const textIn = Math.ceil(input.texts.join(' ').length / 4);
    const audioIn = Math.ceil((input.audio.length / 2 / 16000) * 32);
    const out = Math.max(1, Math.ceil(words.length / 4));
    const modality = profile.modality === 'TEXT' ? 'TEXT' : 'AUDIO';
    const promptTokensDetails = [
      ...(textIn ? [{ modality: 'TEXT', tokenCount: textIn }] : []),
      ...(audioIn ? [{ modality: 'AUDIO', tokenCount: audioIn }] : []),
    ];
    const usageMetadata = {
      promptTokenCount: textIn + audioIn,
      responseTokenCount: out,
      totalTokenCount: textIn + audioIn + out,
      promptTokensDetails,
      responseTokensDetails: [{ modality, tokenCount: out }],
    } as UsageMetadata;
    return [pretty({ serverContent: { generationComplete: true } }), pretty({ serverContent: { turnComplete: true }, usageMetadata })];
  }

  private send(step: Step): void {
    if (this.ws.readyState !== WebSocket.OPEN || this.closingByFake) return;
    this.sent.push(step.json);
    this.ws.send(Buffer.from(step.payload, 'utf8'), { binary: true });
    this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Ends the connection abruptly (fake shutdown). */
  terminate(): void {
    this.stopPlayback();
    this.queued.length = 0;
    this.ws.terminate();
  }
}

function describe(messages: GeminiClientMessage[]): string {
  return JSON.stringify(messages, (key, value) => (key === 'data' && typeof value === 'string' ? `<${value.length} b64>` : value)).slice(0, 1500);
}

// ── the server ──────────────────────────────────────────────────────────────────────────────────

export class GeminiFake {
  readonly sessions: GeminiFakeSession[] = [];
  readonly apiKey: string;
  readonly models: Record<string, FakeGeminiModel>;
  /** Pause between two frames of a model turn; tests may change it between turns. */
  frameIntervalMs: number;
  /** HTTP upgrade requests that were refused (wrong path). */
  refusedUpgrades = 0;
  /** Session-resumption handles issued, and the connection each resumes. */
  readonly resumable = new Map<string, GeminiFakeSession>();
  readonly library = ReplayLibrary.get();

  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly server: Server,
    options: GeminiFakeOptions,
  ) {
    this.apiKey = options.apiKey ?? GEMINI_FAKE_API_KEY;
    this.models = options.models ?? { ...CURRENT_GEMINI_MODELS };
    this.frameIntervalMs = options.frameIntervalMs ?? 2;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
  }

  static async start(options: GeminiFakeOptions = {}): Promise<GeminiFake> {
    const server = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
    });
    const fake = new GeminiFake(server, options);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return fake;
  }

  /** `http://127.0.0.1:<port>`: what `baseUrl` / `GEMINI_BASE_URL` take. */
  get httpUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The first connection made after this call (call it before making the connection). */
  nextSession(timeoutMs = 5000): Promise<GeminiFakeSession> {
    const index = this.sessions.length;
    return new Promise<GeminiFakeSession>((resolve, reject) => {
      const check = (): boolean => {
        const session = this.sessions[index];
        if (!session) return false;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(session);
        return true;
      };
      const waiter = (): void => void check();
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`gemini-fake: no connection #${index + 1} within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) this.waiters.add(waiter);
    });
  }

  get last(): GeminiFakeSession {
    const session = this.sessions.at(-1);
    if (!session) throw new Error('gemini-fake: no connection yet');
    return session;
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Not `new URL(req.url, base)`: a path starting with `//` (what the SDK sends) would be read as a host.
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const path = queryAt < 0 ? target : target.slice(0, queryAt);
    const query = new URLSearchParams(queryAt < 0 ? '' : target.slice(queryAt + 1));
    const route = LIVE_PATH.exec(path.replace(/\/{2,}/g, '/'));
    if (!route) {
      this.refusedUpgrades += 1;
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nNot Found');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sessions.push(new GeminiFakeSession(ws, query.get('key'), route[1], this));
      for (const waiter of [...this.waiters]) waiter();
    });
  }
}
