// class-validator schema of the session config (docs/protocol.md §4). Every field is optional and may be
// null (a zero value); types are checked strictly, never coerced. Unknown keys are rejected by the
// validator options (forbidNonWhitelisted), at every level that has a schema.
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import {
  AUDIO_FORMATS,
  MODALITIES,
  REASONING_EFFORTS,
  TURN_DETECTION_TYPES,
  type Modality,
  type ReasoningEffort,
  type TurnDetectionType,
} from './session-config.js';
import { ALLOWED_ORIGINS_MAX, IsStringMap, IsWebOrigin } from './ticket-fields.validators.js';

export class TurnDetectionDto {
  @IsOptional() @IsIn(TURN_DETECTION_TYPES as TurnDetectionType[]) type?: TurnDetectionType;
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) @Min(0) @Max(1) threshold?: number;
  @IsOptional() @IsInt() @Min(0) @Max(10_000) prefix_padding_ms?: number;
  @IsOptional() @IsInt() @Min(0) @Max(10_000) silence_duration_ms?: number;
}

export class ToolDto {
  @IsString() @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'name must be 1-64 letters, digits, "_" or "-"' }) name: string;
  @IsOptional() @IsString() @MaxLength(4096) description?: string;
  @IsOptional() @IsObject() parameters?: Record<string, unknown>;
}

export class SessionConfigDto {
  @IsOptional() @IsString() @MaxLength(200) model?: string;
  @IsOptional() @IsString() @MaxLength(100_000) instructions?: string;
  @IsOptional() @IsString() @MaxLength(100) voice?: string;
  @IsOptional() @IsArray() @IsIn(MODALITIES as Modality[], { each: true }) modalities?: Modality[];
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) @Min(0) @Max(2) temperature?: number;
  @IsOptional() @IsIn(REASONING_EFFORTS as ReasoningEffort[]) reasoning_effort?: ReasoningEffort;
  @IsOptional() @IsIn(AUDIO_FORMATS as string[]) input_audio_format?: string;
  @IsOptional() @IsIn(AUDIO_FORMATS as string[]) output_audio_format?: string;
  @IsOptional() @IsBoolean() input_transcription?: boolean;
  @IsOptional() @IsString() @MaxLength(200) input_transcription_model?: string;
  @IsOptional() @IsBoolean() output_transcription?: boolean;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => TurnDetectionDto) turn_detection?: TurnDetectionDto;
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => ToolDto) tools?: ToolDto[];
  @IsOptional() @IsString() @Matches(/^$|^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/, { message: 'translation_target_language must be a BCP-47 tag' }) translation_target_language?: string;
}

export class CreateRealtimeSessionDto {
  @IsOptional() @IsObject() @ValidateNested() @Type(() => SessionConfigDto) config?: SessionConfigDto;
  @IsOptional() @IsArray() @IsString({ each: true }) locked_fields?: string[];
  @IsOptional() @IsInt({ message: 'ttl_seconds must be an integer' }) ttl_seconds?: number;
  /** The backend's own attribution (end user, plan…): stored with the ticket, never sent to the provider or the browser. */
  @IsOptional() @IsStringMap() metadata?: Record<string, string>;
  /** Pages allowed to redeem the ticket: the upgrade's Origin must be one of them. */
  @IsOptional() @IsArray() @ArrayMaxSize(ALLOWED_ORIGINS_MAX) @IsWebOrigin({ each: true }) allowed_origins?: string[];
}
