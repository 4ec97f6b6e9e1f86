// The OpenAPI description of the backend-control routes (revoke a ticket, list and end live
// sessions): what they answer and the error codes of each, next to the mint route's (mint-route.decorators.ts).
import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiAcceptedResponse, ApiOperation, ApiParam, ApiResponse, ApiTags, getSchemaPath, ApiExtraModels } from '@nestjs/swagger';
import { ErrorCode } from '../errors/error-codes.js';
import { ErrorBodyDto } from './error-body.dto.js';
import { LiveSessionListDto, TerminationAcceptedDto } from './live-session.response.js';
import { REALTIME_API_TAG, RUNTIME_KEY_SECURITY } from './mint-route.decorators.js';

const AUTH_CODES = [
  ErrorCode.MissingCredentials,
  ErrorCode.InvalidAuthorizationHeader,
  ErrorCode.ManagementKeyNotAllowed,
  ErrorCode.InvalidApiKey,
  ErrorCode.NotRuntimeKey,
  ErrorCode.KeyWithoutProject,
];

function errors(byStatus: Record<number, string[]>): MethodDecorator[] {
  return Object.entries(byStatus).map(([status, codes]) =>
    ApiResponse({
      status: Number(status),
      description: codes.map((code) => `\`${code}\``).join(', '),
      content: { 'application/json': { schema: { $ref: getSchemaPath(ErrorBodyDto) } } },
    }),
  );
}

function controlRoute(summary: string, description: string): MethodDecorator[] {
  return [ApiTags(REALTIME_API_TAG), ApiExtraModels(ErrorBodyDto), ApiOperation({ summary, description }), ApiBearerAuth(RUNTIME_KEY_SECURITY)];
}

export function ApiRevokeTicket(): MethodDecorator {
  return applyDecorators(
    ...controlRoute('Revoke an outstanding ticket', 'A later upgrade with it gets 401 like any used ticket. Only tickets of the calling key\'s project are found.'),
    ApiParam({ name: 'id', description: 'The ticket\'s public id (`id` of the mint response).' }),
    ApiNoContentResponse({ description: 'Revoked.' }),
    ...errors({
      401: AUTH_CODES,
      404: [ErrorCode.TicketNotFound],
      409: [ErrorCode.TicketAlreadyRedeemed],
      501: [ErrorCode.NotSupported],
      503: [ErrorCode.TicketStoreUnavailable, ErrorCode.AuthUnavailable],
    }),
  );
}

export function ApiListLiveSessions(): MethodDecorator {
  return applyDecorators(
    ...controlRoute('List the project\'s live sessions', 'Every instance\'s sessions of the calling key\'s project.'),
    ApiOkResponse({ type: LiveSessionListDto }),
    ...errors({ 401: AUTH_CODES, 503: [ErrorCode.SessionStoreUnavailable, ErrorCode.AuthUnavailable] }),
  );
}

export function ApiTerminateLiveSession(): MethodDecorator {
  return applyDecorators(
    ...controlRoute(
      'End a live session',
      'Wherever it runs: the client gets `session.terminating` with `terminated_by_backend` and close 1000; the session-events hook gets that end reason.',
    ),
    ApiParam({ name: 'sessionId', description: 'The `session_id` that `session.started` announced.' }),
    ApiAcceptedResponse({ type: TerminationAcceptedDto }),
    ...errors({ 401: AUTH_CODES, 404: [ErrorCode.SessionNotFound], 503: [ErrorCode.SessionStoreUnavailable, ErrorCode.AuthUnavailable] }),
  );
}
