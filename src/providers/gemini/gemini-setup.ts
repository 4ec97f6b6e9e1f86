// The effective session config → Gemini's `setup`, the one message that configures a Live session.
// Gemini takes no later configuration (docs/protocol.md §5: `session.update` is ignored), so everything
// the ticket binds (model, voice, instructions, tools) is decided here, once.
import type { FunctionDeclaration, LiveClientSetup, Modality, RealtimeInputConfig, ThinkingLevel } from '@google/genai';
import type { ModelDefinition } from '../../session-config/model-catalogue.js';
import type { ReasoningEffort, SessionConfig } from '../../session-config/session-config.js';
import { upstreamModelName } from '../core/model-name.js';
import { wireEnum } from './gemini-wire.js';

/** `gemini/gemini-3.1-flash-live-preview` → `models/gemini-3.1-flash-live-preview` (the prefix is required). */
export function geminiModelName(modelId: string): string {
  return `models/${upstreamModelName(modelId)}`;
}

/** Text replies only when the config asks for text and nothing else; audio otherwise. */
export function wantsTextOnly(config: SessionConfig): boolean {
  return config.modalities?.length === 1 && config.modalities[0] === 'text';
}

/** `turn_detection.type: "none"`: the client marks turns (activityStart / activityEnd). */
export function hasManualTurns(config: SessionConfig): boolean {
  return config.turn_detection?.type === 'none';
}

/**
 * Whether the model's speech is transcribed to `text.delta`: asked for with `output_transcription`,
 * or implied by `modalities` holding `text` next to `audio` (Gemini answers in one modality only,
 * so its transcript is the only text an audio session can have).
 */
export function transcribesOutput(config: SessionConfig): boolean {
  if (wantsTextOnly(config)) return false;
  return config.output_transcription === true || (config.modalities?.includes('text') ?? false);
}

const THINKING_LEVELS: Record<ReasoningEffort, `${ThinkingLevel}`> = {
  minimal: 'MINIMAL',
  low: 'LOW',
  medium: 'MEDIUM',
  high: 'HIGH',
  xhigh: 'HIGH',
};

export function buildGeminiSetup(config: SessionConfig, model: ModelDefinition): LiveClientSetup {
  const textOnly = wantsTextOnly(config);
  const setup: LiveClientSetup = {
    model: geminiModelName(config.model ?? model.id),
    generationConfig: {
      responseModalities: [wireEnum<Modality>(textOnly ? 'TEXT' : 'AUDIO')],
    },
  };
  const generation = setup.generationConfig!;
  // A voice only means something for audio replies (Gemini refuses a speech config on a text reply).
  const voice = config.voice || model.defaultVoice;
  if (!textOnly && voice) generation.speechConfig = { voiceConfig: { prebuiltVoiceConfig: { voiceName: voice } } };
  if (typeof config.temperature === 'number') generation.temperature = config.temperature;
  if (config.reasoning_effort) {
    generation.thinkingConfig = { thinkingLevel: wireEnum<ThinkingLevel>(THINKING_LEVELS[config.reasoning_effort]) };
  }
  if (model.translation && config.translation_target_language) {
    generation.translationConfig = { targetLanguageCode: config.translation_target_language };
  }

  if (config.instructions) setup.systemInstruction = { parts: [{ text: config.instructions }] };
  if (config.tools?.length) setup.tools = [{ functionDeclarations: config.tools.map(toFunctionDeclaration) }];

  const realtimeInputConfig = toRealtimeInputConfig(config);
  if (realtimeInputConfig) setup.realtimeInputConfig = realtimeInputConfig;
  if (config.input_transcription === true) setup.inputAudioTranscription = {};
  if (transcribesOutput(config)) setup.outputAudioTranscription = {};
  return setup;
}

function toFunctionDeclaration(tool: NonNullable<SessionConfig['tools']>[number]): FunctionDeclaration {
  const declaration: FunctionDeclaration = { name: tool.name };
  if (tool.description) declaration.description = tool.description;
  // Our tools carry standard JSON Schema; `parameters` would want Gemini's OpenAPI subset
  // (upper-case types), `parametersJsonSchema` takes it as is.
  if (tool.parameters) declaration.parametersJsonSchema = tool.parameters;
  return declaration;
}

function toRealtimeInputConfig(config: SessionConfig): RealtimeInputConfig | undefined {
  const turns = config.turn_detection;
  if (!turns?.type) return undefined;
  if (turns.type === 'none') return { automaticActivityDetection: { disabled: true } };
  // server_vad and semantic_vad both mean Gemini's own activity detection. `threshold` has no
  // Gemini equivalent (only coarse HIGH/LOW sensitivities) and is not sent.
  const detection: NonNullable<RealtimeInputConfig['automaticActivityDetection']> = { disabled: false };
  if (turns.prefix_padding_ms) detection.prefixPaddingMs = turns.prefix_padding_ms;
  if (turns.silence_duration_ms) detection.silenceDurationMs = turns.silence_duration_ms;
  return { automaticActivityDetection: detection };
}
