// class-validator schema of the session config (docs/protocol.md §4). Every field is optional and may be
// null (a zero value); types are checked strictly, never coerced. Unknown keys are rejected by the
// validator options (forbidNonWhitelisted), at every level that has a schema.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
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
  SESSION_CONFIG_FIELDS,
  TURN_DETECTION_TYPES,
  type Modality,
  type ReasoningEffort,
  type TurnDetectionType,
} from './session-config.js';
import { ALLOWED_ORIGINS_MAX, IsStringMap, IsWebOrigin } from './ticket-fields.validators.js';

export class TurnDetectionDto {
  @ApiPropertyOptional({ enum: TURN_DETECTION_TYPES, nullable: true, description: 'Who decides when the user stopped speaking: `none` turns detection off.' })
  @IsOptional() @IsIn(TURN_DETECTION_TYPES as TurnDetectionType[]) type?: TurnDetectionType;
  @ApiPropertyOptional({ type: Number, minimum: 0, maximum: 1, nullable: true, description: 'Voice activity threshold.' })
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) @Min(0) @Max(1) threshold?: number;
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 10_000, nullable: true })
  @IsOptional() @IsInt() @Min(0) @Max(10_000) prefix_padding_ms?: number;
  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 10_000, nullable: true })
  @IsOptional() @IsInt() @Min(0) @Max(10_000) silence_duration_ms?: number;
}

export class ToolDto {
  @ApiProperty({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'Tool name the model calls.', example: 'get_weather' })
  @IsString() @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'name must be 1-64 letters, digits, "_" or "-"' }) name: string;
  @ApiPropertyOptional({ maxLength: 4096, nullable: true })
  @IsOptional() @IsString() @MaxLength(4096) description?: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true, description: 'JSON Schema of the arguments (flat: no `type: "function"` wrapper).' })
  @IsOptional() @IsObject() parameters?: Record<string, unknown>;
}

export class SessionConfigDto {
  @ApiPropertyOptional({ maxLength: 200, nullable: true, description: 'Provider-prefixed model id; required once the session starts.', example: 'openai/gpt-realtime-2' })
  @IsOptional() @IsString() @MaxLength(200) model?: string;
  @ApiPropertyOptional({ maxLength: 100_000, nullable: true, description: 'System instructions. Never echoed back to the client.' })
  @IsOptional() @IsString() @MaxLength(100_000) instructions?: string;
  @ApiPropertyOptional({ maxLength: 100, nullable: true, description: "One of the model's voices.", example: 'marin' })
  @IsOptional() @IsString() @MaxLength(100) voice?: string;
  @ApiPropertyOptional({ enum: MODALITIES, isArray: true, nullable: true })
  @IsOptional() @IsArray() @IsIn(MODALITIES as Modality[], { each: true }) modalities?: Modality[];
  @ApiPropertyOptional({ type: Number, minimum: 0, maximum: 2, nullable: true })
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) @Min(0) @Max(2) temperature?: number;
  @ApiPropertyOptional({ enum: REASONING_EFFORTS, nullable: true, description: 'Only for models that support it.' })
  @IsOptional() @IsIn(REASONING_EFFORTS as ReasoningEffort[]) reasoning_effort?: ReasoningEffort;
  @ApiPropertyOptional({ enum: AUDIO_FORMATS, nullable: true })
  @IsOptional() @IsIn(AUDIO_FORMATS as string[]) input_audio_format?: string;
  @ApiPropertyOptional({ enum: AUDIO_FORMATS, nullable: true })
  @IsOptional() @IsIn(AUDIO_FORMATS as string[]) output_audio_format?: string;
  @ApiPropertyOptional({ type: Boolean, nullable: true, description: 'User transcripts as `transcript.committed` events.' })
  @IsOptional() @IsBoolean() input_transcription?: boolean;
  @ApiPropertyOptional({ maxLength: 200, nullable: true, description: 'Provider-specific transcription model.' })
  @IsOptional() @IsString() @MaxLength(200) input_transcription_model?: string;
  @ApiPropertyOptional({ type: Boolean, nullable: true, description: 'Model transcript as `text.delta` events.' })
  @IsOptional() @IsBoolean() output_transcription?: boolean;
  @ApiPropertyOptional({ type: () => TurnDetectionDto, nullable: true })
  @IsOptional() @IsObject() @ValidateNested() @Type(() => TurnDetectionDto) turn_detection?: TurnDetectionDto;
  @ApiPropertyOptional({ type: () => ToolDto, isArray: true, nullable: true })
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => ToolDto) tools?: ToolDto[];
  @ApiPropertyOptional({ nullable: true, description: 'BCP-47 tag, for translation models.', example: 'en-US' })
  @IsOptional() @IsString() @Matches(/^$|^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/, { message: 'translation_target_language must be a BCP-47 tag' }) translation_target_language?: string;
}

export class CreateRealtimeSessionDto {
  @ApiPropertyOptional({
    type: () => SessionConfigDto,
    description: 'Session config. Its non-zero fields are bound to the ticket: the browser cannot override them.',
  })
  @IsOptional() @IsObject() @ValidateNested() @Type(() => SessionConfigDto) config?: SessionConfigDto;
  @ApiPropertyOptional({
    enum: SESSION_CONFIG_FIELDS,
    isArray: true,
    description: 'Config field names enforced even when their value in `config` is the zero value (forced to zero without `config`).',
    example: ['instructions', 'tools'],
  })
  @IsOptional() @IsArray() @IsString({ each: true }) locked_fields?: string[];
  @ApiPropertyOptional({ type: 'integer', description: 'Ticket lifetime in seconds: absent or 0 → 60, clamped into [1, 300].', example: 60 })
  @IsOptional() @IsInt({ message: 'ttl_seconds must be an integer' }) ttl_seconds?: number;
  /** The backend's own attribution (end user, plan…): stored with the ticket, never sent to the provider or the browser. */
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', maxLength: 512 },
    maxProperties: 16,
    description: 'Your own attribution (end user, plan…): at most 16 string keys with string values of at most 512 bytes. Stored with the ticket, given to the session-events hook and the session-end log line; never sent to the provider or the browser.',
    example: { user_id: 'u_42', plan: 'pro' },
  })
  @IsOptional() @IsStringMap() metadata?: Record<string, string>;
  /** Pages allowed to redeem the ticket: the upgrade's Origin must be one of them. */
  @ApiPropertyOptional({
    type: String,
    isArray: true,
    description: "Web origins allowed to redeem the ticket: the upgrade's `Origin` must be one of them (checked before the ticket is consumed; 403 `origin_not_allowed` otherwise).",
    example: ['https://app.example.com'],
  })
  @IsOptional() @IsArray() @ArrayMaxSize(ALLOWED_ORIGINS_MAX) @IsWebOrigin({ each: true }) allowed_origins?: string[];
}
