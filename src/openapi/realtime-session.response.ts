// The 200 body of POST /v3/realtime-sessions, as a class the OpenAPI document can describe.
// (The controller returns a plain object of this shape.)
import { ApiProperty } from '@nestjs/swagger';

export class RealtimeSessionResponseDto {
  @ApiProperty({
    description: 'Public, non-secret id of the ticket (additive to the Opper fields): revoke it with `DELETE /v3/realtime-sessions/{id}`; live sessions list it as `ticket_id`.',
    example: 'rt_3kT9qVb1XcZ2mN8pL0aB7w',
  })
  id: string;

  @ApiProperty({
    description: 'Single-use ticket secret (base64url, ≥ 256 bits). Send it as the `opper-ticket.<client_secret>` WebSocket subprotocol (or `?ticket=`).',
    example: 'x3Jf0bq9Qm1oV2o0j5uUuY0Yl2s8b9cJd3uT1kqgWm8',
  })
  client_secret: string;

  @ApiProperty({ description: 'When the ticket stops being redeemable (RFC 3339 UTC, whole seconds).', format: 'date-time', example: '2026-05-13T15:32:00Z' })
  expires_at: string;

  @ApiProperty({
    description: 'WebSocket URL carrying the ticket (`ticket=` query parameter); empty when the server cannot tell its public address.',
    example: 'wss://gateway.example.com/v3/realtime?ticket=x3Jf0bq9Qm1oV2o0j5uUuY0Yl2s8b9cJd3uT1kqgWm8',
  })
  ws_url: string;
}
