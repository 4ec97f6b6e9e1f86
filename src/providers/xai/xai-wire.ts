// xAI's realtime wire types where they differ from OpenAI GA (docs/providers.md §2). Everything else
// (event names, items, deltas, tool calls) is the GA protocol and typed with the `openai` package.
import type { RealtimeAudioInputTurnDetection, RealtimeFunctionTool, RealtimeResponseUsage } from 'openai/resources/realtime/realtime';

/** xAI's PCM rates (`audio/pcm`, 8–48 kHz). */
export const XAI_PCM_RATES: readonly number[] = [8000, 16000, 24000, 32000, 44100, 48000];

export interface XaiAudioFormat {
  type: 'audio/pcm' | 'audio/pcmu' | 'audio/pcma';
  rate?: number;
}

/**
 * The `session` of xAI's `session.update`: no `session.type`; `voice` and `turn_detection` flat at
 * the top level (LiveKit lifts them there); GA-style `audio.*.format` objects; `modalities`.
 */
export interface XaiWireSession {
  instructions?: string;
  voice?: string;
  modalities?: Array<'audio' | 'text'>;
  turn_detection?: RealtimeAudioInputTurnDetection | null;
  audio?: {
    input?: { format?: XaiAudioFormat; transcription?: { model: string } | null };
    output?: { format?: XaiAudioFormat };
  };
  tools?: RealtimeFunctionTool[];
  reasoning?: { effort: string };
}

export interface XaiSessionUpdateEvent {
  type: 'session.update';
  session: XaiWireSession;
}

/** Keep-alive the server sends every few seconds; nothing to answer. */
export interface XaiPingEvent {
  type: 'ping';
  event_id?: string;
  timestamp?: number;
}

/** xAI's `response.done` carries `usage` at the top level (plus audio seconds). */
export interface XaiUsage extends RealtimeResponseUsage {
  output_audio_seconds?: number;
  billable_audio_seconds?: number;
}

/** `POST /v1/realtime/client_secrets` body: no `session`, no `expires_after.anchor`. */
export interface XaiClientSecretRequest {
  expires_after: { seconds: number };
}

export interface XaiClientSecretResponse {
  value: string;
  /** Unix seconds. */
  expires_at: number;
}
