// The one error body of the API, `{"error":{"code","message","details?"}}`, as classes the
// OpenAPI document can describe.
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ErrorCode } from '../errors/error-codes.js';

export class ErrorDetailDto {
  @ApiProperty({ description: 'Machine-readable error code (switch on it).', enum: Object.values(ErrorCode), example: 'invalid_field' })
  code: string;

  @ApiProperty({ description: 'Human-readable explanation.', example: 'config.temperature must not be greater than 2' })
  message: string;

  @ApiPropertyOptional({
    description: 'Extra structured context (e.g. the offending `field`), when there is any.',
    type: 'object',
    additionalProperties: true,
    example: { field: 'temperature' },
  })
  details?: Record<string, unknown>;
}

export class ErrorBodyDto {
  @ApiProperty({ type: () => ErrorDetailDto })
  error: ErrorDetailDto;
}
