// The session config of docs/protocol.md §4 as a type, and the list of its field names (JSON tags).

export type Modality = 'audio' | 'text';
export type TurnDetectionType = 'server_vad' | 'semantic_vad' | 'none';
export type ReasoningEffort = 'minimal' | 'low' | 'medium' | 'high' | 'xhigh';

export interface TurnDetection {
  type?: TurnDetectionType;
  threshold?: number;
  prefix_padding_ms?: number;
  silence_duration_ms?: number;
}

export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments. */
  parameters?: Record<string, unknown>;
}

export interface SessionConfig {
  model?: string | null;
  instructions?: string | null;
  voice?: string | null;
  modalities?: Modality[] | null;
  temperature?: number | null;
  reasoning_effort?: ReasoningEffort | null;
  input_audio_format?: string | null;
  output_audio_format?: string | null;
  input_transcription?: boolean | null;
  input_transcription_model?: string | null;
  output_transcription?: boolean | null;
  turn_detection?: TurnDetection | null;
  tools?: ToolDefinition[] | null;
  translation_target_language?: string | null;
}

export type SessionConfigField = keyof SessionConfig;

export const SESSION_CONFIG_FIELDS: readonly SessionConfigField[] = [
  'model',
  'instructions',
  'voice',
  'modalities',
  'temperature',
  'reasoning_effort',
  'input_audio_format',
  'output_audio_format',
  'input_transcription',
  'input_transcription_model',
  'output_transcription',
  'turn_detection',
  'tools',
  'translation_target_language',
] as const;

const FIELD_SET = new Set<string>(SESSION_CONFIG_FIELDS);

/** Every config field but these: how a provider declares what it honours when it lacks only a few. */
export function configFieldsExcept(...excluded: SessionConfigField[]): SessionConfigField[] {
  return SESSION_CONFIG_FIELDS.filter((field) => !excluded.includes(field));
}

export function isSessionConfigField(name: unknown): name is SessionConfigField {
  return typeof name === 'string' && FIELD_SET.has(name);
}

export const MODALITIES: readonly Modality[] = ['audio', 'text'];
export const TURN_DETECTION_TYPES: readonly TurnDetectionType[] = ['server_vad', 'semantic_vad', 'none'];
export const REASONING_EFFORTS: readonly ReasoningEffort[] = ['minimal', 'low', 'medium', 'high', 'xhigh'];
export const AUDIO_FORMATS: readonly string[] = ['pcm16'];
