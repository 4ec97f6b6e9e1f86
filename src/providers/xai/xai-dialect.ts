// xAI Grok Voice's dialect of the GA events: only the differences from OpenAI GA live here
// (docs/providers.md §2): a flat session shape (top-level `voice`, `turn_detection`, `modalities`; no
// `session.type`), a declared PCM rate, usage at the top level of `response.done`, `ping`
// keep-alives, the interim `…transcription.updated`, and text deltas sent under two names. The
// event mapping is OpenAI's (OpenAiRealtimeSession), composed, not inherited.
import type { ModelDefinition } from '../../session-config/model-catalogue.js';
import type { OpenAiDialect, SessionSettings } from '../openai/openai-realtime-session.js';
import { XAI_PCM_RATES, type XaiSessionUpdateEvent, type XaiWireSession } from './xai-wire.js';

export const XAI_DEFAULT_TRANSCRIPTION_MODEL = 'grok-transcribe';
const XAI_DEFAULT_RATE = 24000;

/** The dialect of one xAI session (it remembers which name text deltas arrive under). */
export function xaiDialect(model: ModelDefinition): OpenAiDialect {
  // xAI takes the client's rate as declared (8–48 kHz); anything else is resampled to 24 kHz.
  const inputRate = xaiRate(model.inputSampleRate);
  const outputRate = xaiRate(model.outputSampleRate);
  /** xAI sends each text delta as `response.output_text.delta` and `response.text.delta`: keep one name. */
  let textDeltaName: string | undefined;
  return {
    providerLabel: 'xAI',
    upstreamInputRate: inputRate,
    upstreamOutputRate: outputRate,
    startOnlyFields: [],
    defaultTranscriptionModel: XAI_DEFAULT_TRANSCRIPTION_MODEL,
    // Turn detection is off on xAI until a session.update sets it; the catalogue's xAI models
    // are server_vad only, so unset means server_vad.
    defaultTurnDetection: { type: 'server_vad' },
    sessionUpdateMessage: (settings, initial) => xaiSessionUpdate(settings, initial, inputRate, outputRate),
    // Top-level on xAI; `response.usage` may be present but empty.
    rawUsage: (event) => event.usage ?? event.response?.usage,
    handleEvent: (event, session) => {
      switch (event.type) {
        case 'ping':
          return true; // keep-alive: nothing to answer (WebSocket-level pings are answered by ws)
        case 'conversation.item.input_audio_transcription.updated':
          return true; // cumulative interim text; the client gets the `.completed` one
        case 'response.output_text.delta':
        case 'response.text.delta':
          textDeltaName ??= event.type;
          if (event.type === textDeltaName) session.emitText((event as { delta?: unknown }).delta);
          return true;
        default:
          return false;
      }
    },
  };
}

function xaiSessionUpdate(settings: SessionSettings, initial: boolean, inputRate: number, outputRate: number): XaiSessionUpdateEvent {
  const session: XaiWireSession = {};
  if (settings.instructions !== undefined) session.instructions = settings.instructions;
  if (settings.voice) session.voice = settings.voice;
  if (settings.outputModalities) session.modalities = settings.outputModalities;
  if (settings.turnDetection !== undefined) session.turn_detection = settings.turnDetection;
  if (settings.tools) session.tools = settings.tools;
  if (settings.reasoningEffort) session.reasoning = { effort: settings.reasoningEffort };
  const input: NonNullable<XaiWireSession['audio']>['input'] = {};
  const output: NonNullable<XaiWireSession['audio']>['output'] = {};
  if (initial) {
    input.format = { type: 'audio/pcm', rate: inputRate };
    output.format = { type: 'audio/pcm', rate: outputRate };
  }
  if (settings.transcription !== undefined) input.transcription = settings.transcription;
  if (Object.keys(input).length || Object.keys(output).length) {
    session.audio = { ...(Object.keys(input).length ? { input } : {}), ...(Object.keys(output).length ? { output } : {}) };
  }
  return { type: 'session.update', session };
}

function xaiRate(rate: number | undefined): number {
  return rate !== undefined && XAI_PCM_RATES.includes(rate) ? rate : XAI_DEFAULT_RATE;
}
