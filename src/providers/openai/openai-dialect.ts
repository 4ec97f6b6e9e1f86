// OpenAI's own dialect of the GA events (OpenAiRealtimeSession speaks it for `openai/…` models): the GA `session` shape (docs/providers.md §1.2) —
// `type:"realtime"` on every update, voice and turn detection nested under `audio` — and usage in
// `response.done.response.usage`. The event mapping itself is OpenAiRealtimeSession's.
import type { RealtimeSessionCreateRequest } from 'openai/resources/realtime/realtime';
import type { OpenAiDialect, SessionSettings } from './openai-realtime-session.js';

/** `audio/pcm` on the GA wire is PCM16 LE mono at 24 kHz only. */
export const OPENAI_PCM_RATE = 24000;
export const OPENAI_DEFAULT_TRANSCRIPTION_MODEL = 'gpt-4o-transcribe';

export const OPENAI_DIALECT: OpenAiDialect = {
  providerLabel: 'OpenAI',
  upstreamInputRate: OPENAI_PCM_RATE,
  upstreamOutputRate: OPENAI_PCM_RATE,
  // docs/protocol.md §4: input transcription is fixed at session.start on OpenAI.
  startOnlyFields: ['input_transcription', 'input_transcription_model'],
  defaultTranscriptionModel: OPENAI_DEFAULT_TRANSCRIPTION_MODEL,
  sessionUpdateMessage: (settings, initial) => ({ type: 'session.update', session: toGaSession(settings, initial) }),
  rawUsage: (event) => event.response?.usage,
};

/**
 * Settings → the GA `session` object. The initial update also declares the audio formats
 * (`audio/pcm` at 24 kHz both ways). `temperature` has no place in the GA session and is not sent.
 */
export function toGaSession(settings: SessionSettings, initial: boolean): RealtimeSessionCreateRequest {
  const session: RealtimeSessionCreateRequest = { type: 'realtime' };
  if (settings.instructions !== undefined) session.instructions = settings.instructions;
  if (settings.outputModalities) session.output_modalities = settings.outputModalities;
  if (settings.tools) session.tools = settings.tools;
  if (settings.reasoningEffort) session.reasoning = { effort: settings.reasoningEffort };

  const input: NonNullable<NonNullable<RealtimeSessionCreateRequest['audio']>['input']> = {};
  const output: NonNullable<NonNullable<RealtimeSessionCreateRequest['audio']>['output']> = {};
  if (initial) {
    input.format = { type: 'audio/pcm', rate: OPENAI_PCM_RATE };
    output.format = { type: 'audio/pcm', rate: OPENAI_PCM_RATE };
  }
  if (settings.turnDetection !== undefined) input.turn_detection = settings.turnDetection;
  // Transcription is start-only: it is either set in the first update or left at its default (off).
  if (settings.transcription) input.transcription = settings.transcription;
  if (settings.voice) output.voice = settings.voice;
  const audio: NonNullable<RealtimeSessionCreateRequest['audio']> = {};
  if (Object.keys(input).length) audio.input = input;
  if (Object.keys(output).length) audio.output = output;
  if (audio.input || audio.output) session.audio = audio;
  return session;
}
