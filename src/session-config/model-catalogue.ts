// The model catalogue (PROTOCOL.md §4): which ids exist, which are realtime, and what each can do.
// Host apps extend or replace entries through the `models` module option.
import type { Modality, TurnDetectionType } from './session-config.js';

export interface ModelDefinition {
  /** Provider-prefixed id, e.g. `openai/gpt-realtime-2`. */
  id: string;
  /** False for known ids that cannot run a realtime session (so "not a realtime model" is a real answer). */
  realtime: boolean;
  inputSampleRate?: number;
  outputSampleRate?: number;
  /** Selectable voices; absent or empty: the model has no voice choice. */
  voices?: string[];
  defaultVoice?: string;
  /** Supported output modalities. Default `['audio', 'text']`. */
  modalities?: Modality[];
  /** Whether `reasoning_effort` may be set. */
  reasoningEffort?: boolean;
  /** Allowed `turn_detection.type` values. Default: all. */
  turnDetectionTypes?: TurnDetectionType[];
  /** A translation model (takes `translation_target_language`). */
  translation?: boolean;
}

const OPENAI_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', 'cedar'];
const XAI_VOICES = ['ara', 'eve', 'leo', 'rex', 'sal'];
const GEMINI_VOICES = ['Puck', 'Charon', 'Kore', 'Fenrir', 'Aoede', 'Leda', 'Orus', 'Zephyr'];

export const BUILT_IN_MODELS: readonly ModelDefinition[] = [
  { id: 'openai/gpt-realtime-2', realtime: true, inputSampleRate: 24000, outputSampleRate: 24000, voices: OPENAI_VOICES, defaultVoice: 'marin', reasoningEffort: true },
  { id: 'openai/gpt-realtime-translate', realtime: true, inputSampleRate: 24000, outputSampleRate: 24000, translation: true },
  { id: 'xai/grok-voice-latest', realtime: true, inputSampleRate: 24000, outputSampleRate: 24000, voices: XAI_VOICES, defaultVoice: 'ara', turnDetectionTypes: ['server_vad'] },
  { id: 'gemini/gemini-3.1-flash-live-preview', realtime: true, inputSampleRate: 16000, outputSampleRate: 24000, voices: GEMINI_VOICES, defaultVoice: 'Aoede' },
  { id: 'gemini/gemini-3.5-live-translate-preview', realtime: true, inputSampleRate: 16000, outputSampleRate: 24000, translation: true },
  // Development model served in-process: no network, echoes audio and text back.
  { id: 'loopback/echo', realtime: true, inputSampleRate: 24000, outputSampleRate: 24000, voices: ['echo', 'alloy', 'marin'], defaultVoice: 'echo' },
  // Known ids that are not realtime models.
  { id: 'openai/gpt-4o', realtime: false },
  { id: 'openai/gpt-4.1', realtime: false },
  { id: 'openai/gpt-5', realtime: false },
  { id: 'xai/grok-4', realtime: false },
  { id: 'gemini/gemini-2.5-flash', realtime: false },
  { id: 'gemini/gemini-2.5-pro', realtime: false },
];

export class ModelCatalogue {
  private readonly models = new Map<string, ModelDefinition>();

  constructor(extra: readonly ModelDefinition[] = [], builtIn: readonly ModelDefinition[] = BUILT_IN_MODELS) {
    for (const model of [...builtIn, ...extra]) {
      if (!/^[a-z0-9-]+\/\S+$/.test(model.id)) {
        throw new Error(`ModelCatalogue: model id "${model.id}" must be "<provider>/<name>"`);
      }
      this.models.set(model.id, model);
    }
  }

  get(id: string): ModelDefinition | undefined {
    return this.models.get(id);
  }

  list(): ModelDefinition[] {
    return [...this.models.values()];
  }
}

/** The provider prefix of a model id (`openai/gpt-realtime-2` → `openai`). */
export function providerOf(modelId: string): string {
  const slash = modelId.indexOf('/');
  return slash < 0 ? '' : modelId.slice(0, slash);
}
