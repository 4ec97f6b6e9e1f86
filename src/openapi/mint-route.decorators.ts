// The OpenAPI description of POST /v3/realtime-sessions in one decorator, for the controller's
// `create` method: `@ApiMintRealtimeSession()`. Request and response from the real DTOs, every
// error status with its codes.
import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiExtraModels, ApiOkResponse, ApiOperation, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { CreateRealtimeSessionDto } from '../session-config/session-config.dto.js';
import { ErrorBodyDto } from './error-body.dto.js';
import { mintErrorCodesByStatus } from './mint-error-codes.js';
import { RealtimeSessionResponseDto } from './realtime-session.response.js';

/** Name of the bearer security scheme (the runtime API key) in the document. */
export const RUNTIME_KEY_SECURITY = 'runtime-api-key';
export const REALTIME_API_TAG = 'realtime-sessions';

export function ApiMintRealtimeSession(): MethodDecorator & ClassDecorator {
  const errorResponses = [...mintErrorCodesByStatus()].map(([status, entries]) =>
    ApiResponse({
      status,
      description: entries.map((e) => `\`${e.code}\`: ${e.description}`).join('\n\n'),
      content: {
        'application/json': {
          schema: { $ref: getSchemaPath(ErrorBodyDto) },
          examples: Object.fromEntries(entries.map((e) => [e.code, { value: { error: { code: e.code, message: e.description } } }])),
        },
      },
    }),
  );
  return applyDecorators(
    ApiTags(REALTIME_API_TAG),
    ApiExtraModels(ErrorBodyDto, RealtimeSessionResponseDto, CreateRealtimeSessionDto),
    ApiOperation({
      summary: 'Mint a single-use realtime ticket',
      description:
        'A backend holding a project runtime API key mints a ticket for a browser. Non-zero `config` fields (and every field in `locked_fields`) are bound to the ticket: the browser cannot override them. An empty body is valid.',
    }),
    ApiBearerAuth(RUNTIME_KEY_SECURITY),
    ApiBody({ type: CreateRealtimeSessionDto, required: false }),
    ApiOkResponse({ type: RealtimeSessionResponseDto, description: 'The ticket: redeem it once at `GET /v3/realtime` before `expires_at`.' }),
    ...errorResponses,
  );
}
