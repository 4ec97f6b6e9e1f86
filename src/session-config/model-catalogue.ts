// The model catalogue (docs/protocol.md §4): which ids exist, which are realtime, and what each can do.
// The entries come from the providers' definitions (providers/<name>/) and the `models` module
// option; this layer only holds and looks them up.
import type { Modality, SessionConfigField, TurnDetectionType } from './session-config.js';

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
  /** Config fields the provider acts on for this model; a non-zero other field is refused (`unsupported_by_provider`). Absent: not checked. */
  honouredFields?: readonly SessionConfigField[];
  /**
   * Fields a `session.update` may change; changing another is refused (`unsupported_by_provider`).
   * Absent: every honoured field.
   */
  updatableFields?: readonly SessionConfigField[];
  /** The longest session the provider allows, when it has a limit of its own. */
  sessionLimitSeconds?: number;
}

export class ModelCatalogue {
  private readonly models = new Map<string, ModelDefinition>();

  /** A later entry with the same id replaces an earlier one. */
  constructor(models: readonly ModelDefinition[] = []) {
    for (const model of models) {
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
