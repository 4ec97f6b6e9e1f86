// Checks of a config against what its model can do: the catalogue lookup and the capability rules.
// Called only through config-preparation.ts, the one preparation used at mint and at session start.
import { HttpStatus } from '@nestjs/common';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeApiError } from '../errors/realtime-api.error.js';
import type { ModelCatalogue, ModelDefinition } from './model-catalogue.js';
import { SESSION_CONFIG_FIELDS, type SessionConfig } from './session-config.js';
import { isZeroValue, sameConfigValue } from './zero-value.js';

function invalid(code: ErrorCode, message: string, details?: unknown): RealtimeApiError {
  return new RealtimeApiError(HttpStatus.BAD_REQUEST, code, message, details);
}

/** The catalogue entry of a realtime model, or a 400 error value naming why there is none. */
export function resolveRealtimeModel(catalogue: ModelCatalogue, modelId: string): ModelDefinition {
  const model = catalogue.get(modelId);
  if (!model) throw invalid(ErrorCode.UnknownModel, `Unknown model "${modelId}"`, { field: 'model' });
  if (!model.realtime) {
    throw invalid(ErrorCode.NotRealtimeModel, `"${modelId}" is not a realtime model`, { field: 'model' });
  }
  return model;
}

/** Throws a 400 RealtimeApiError when a non-zero field asks for something the model lacks. */
export function assertCapabilities(config: SessionConfig, model: ModelDefinition): void {
  if (!isZeroValue(config.voice)) {
    const voices = model.voices ?? [];
    if (!voices.includes(config.voice as string)) {
      throw invalid(
        ErrorCode.UnsupportedVoice,
        voices.length
          ? `Voice "${config.voice}" is not available for ${model.id} (available: ${voices.join(', ')})`
          : `${model.id} has no selectable voice`,
        { field: 'voice' },
      );
    }
  }
  if (!isZeroValue(config.modalities)) {
    const supported = model.modalities ?? ['audio', 'text'];
    const missing = (config.modalities ?? []).filter((m) => !supported.includes(m));
    if (missing.length) {
      throw invalid(ErrorCode.UnsupportedModality, `${model.id} does not support modality "${missing[0]}"`, { field: 'modalities' });
    }
  }
  if (!isZeroValue(config.reasoning_effort) && !model.reasoningEffort) {
    throw invalid(ErrorCode.UnsupportedReasoningEffort, `${model.id} does not support reasoning_effort`, { field: 'reasoning_effort' });
  }
  const turnType = config.turn_detection?.type;
  if (turnType && model.turnDetectionTypes && !model.turnDetectionTypes.includes(turnType)) {
    throw invalid(
      ErrorCode.UnsupportedTurnDetection,
      `${model.id} does not support turn_detection.type "${turnType}" (supported: ${model.turnDetectionTypes.join(', ')})`,
      { field: 'turn_detection.type' },
    );
  }
}

/**
 * No silent drops: a non-zero field outside the model's declared `honouredFields` is refused, never
 * quietly omitted on the way to the provider. Zero values are "unset" and never refused; a model
 * that declares nothing (a custom provider) is not checked.
 */
export function assertHonoured(config: SessionConfig, model: ModelDefinition): void {
  const honoured = model.honouredFields;
  if (!honoured) return;
  for (const field of SESSION_CONFIG_FIELDS) {
    if (isZeroValue(config[field]) || honoured.includes(field)) continue;
    throw invalid(ErrorCode.UnsupportedByProvider, `${model.id} cannot honour config.${field}: its provider has no way to apply it`, { field });
  }
}

/**
 * No silent drops mid-session: a `session.update` that changes a field the model declares it cannot
 * change after the start (`updatableFields`) is refused, naming the field, instead of being ignored.
 */
export function assertUpdatable(current: SessionConfig, next: SessionConfig, model: ModelDefinition): void {
  const updatable = model.updatableFields;
  if (!updatable) return;
  for (const field of SESSION_CONFIG_FIELDS) {
    if (updatable.includes(field) || sameConfigValue(current[field], next[field])) continue;
    throw invalid(ErrorCode.UnsupportedByProvider, `${model.id} cannot change config.${field} after session.start`, { field });
  }
}
