// The bodies of the live-session routes, as classes the OpenAPI document can describe (the
// controller returns plain objects of these shapes).
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class LiveSessionDto {
  @ApiProperty({ description: 'The session id `session.started` announced.', example: 'sess_9f1c2e4b7a0d3c5e8f1a2b3c4d5e6f70' })
  id: string;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'Public id of the ticket that opened it (null for a bearer-key session).' })
  ticket_id: string | null;

  @ApiProperty({ example: 'openai/gpt-realtime-2' })
  model: string;

  @ApiProperty({ example: 'openai' })
  provider: string;

  @ApiProperty({ format: 'date-time' })
  started_at: string;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, description: 'The ticket\'s metadata.' })
  metadata: Record<string, string>;

  @ApiProperty({ description: 'The gateway instance running it.' })
  instance: string;
}

export class LiveSessionListDto {
  @ApiProperty({ type: () => LiveSessionDto, isArray: true })
  data: LiveSessionDto[];
}

export class TerminationAcceptedDto {
  @ApiProperty()
  id: string;

  @ApiProperty({ enum: ['terminating'] })
  status: 'terminating';
}
