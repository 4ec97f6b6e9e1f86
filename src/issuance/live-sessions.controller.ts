// Backend control of live sessions: GET /v3/realtime-sessions/live lists the caller's project's
// sessions on every instance; DELETE /v3/realtime-sessions/live/{session_id} ends one wherever it
// runs (the client gets `session.terminating` `terminated_by_backend`, close 1000). A runtime key
// sees and touches only its own project: another project's session id is "not found".
import { Controller, Delete, Get, HttpCode, HttpStatus, Logger, Param, Req, UseGuards } from '@nestjs/common';
import { ApiKeyGuard, IDENTITY_KEY, type RequestWithIdentity } from '../auth/api-key.guard.js';
import { REALTIME_SESSIONS_PATH } from '../common/module-settings.js';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeApiError } from '../errors/realtime-api.error.js';
import { LiveSessionDirectory, type LiveSession } from '../live-sessions/live-session-directory.js';
import { ApiListLiveSessions, ApiTerminateLiveSession } from '../openapi/control-route.decorators.js';

export const LIVE_SESSIONS_PATH = `${REALTIME_SESSIONS_PATH}/live`;

/** One entry of `GET /v3/realtime-sessions/live`. */
export interface LiveSessionResponse {
  id: string;
  ticket_id: string | null;
  model: string;
  provider: string;
  started_at: string;
  metadata: Record<string, string>;
  instance: string;
}

/** Session ids as the gateway draws them (ticket-admission.ts); anything else cannot be live. */
const SESSION_ID = /^sess_[0-9a-f]{16,64}$/;

function storeUnavailable(): RealtimeApiError {
  return new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.SessionStoreUnavailable, 'Live sessions cannot be reached right now; try again later');
}

@Controller()
export class LiveSessionsController {
  private readonly logger = new Logger(LiveSessionsController.name);

  constructor(private readonly directory: LiveSessionDirectory) {}

  @Get(LIVE_SESSIONS_PATH)
  @ApiListLiveSessions()
  @UseGuards(ApiKeyGuard)
  async list(@Req() req: RequestWithIdentity): Promise<{ data: LiveSessionResponse[] }> {
    let sessions: LiveSession[];
    try {
      sessions = await this.directory.list(req[IDENTITY_KEY]!.projectId);
    } catch (err) {
      this.logger.error(`Live-session directory failed on list: ${(err as Error)?.message}`);
      throw storeUnavailable();
    }
    sessions.sort((a, b) => a.startedAt - b.startedAt || (a.sessionId < b.sessionId ? -1 : 1));
    return { data: sessions.map(toResponse) };
  }

  @Delete(`${LIVE_SESSIONS_PATH}/:sessionId`)
  @ApiTerminateLiveSession()
  @HttpCode(HttpStatus.ACCEPTED)
  @UseGuards(ApiKeyGuard)
  async terminate(@Req() req: RequestWithIdentity, @Param('sessionId') sessionId: string): Promise<{ id: string; status: 'terminating' }> {
    let found = false;
    if (SESSION_ID.test(sessionId)) {
      try {
        found = await this.directory.terminate(req[IDENTITY_KEY]!.projectId, sessionId);
      } catch (err) {
        this.logger.error(`Live-session directory failed on terminate: ${(err as Error)?.message}`);
        throw storeUnavailable();
      }
    }
    if (!found) throw new RealtimeApiError(HttpStatus.NOT_FOUND, ErrorCode.SessionNotFound, 'No live session with this id');
    // Accepted: the instance running it ends it (within about a second across instances).
    return { id: sessionId, status: 'terminating' };
  }
}

function toResponse(session: LiveSession): LiveSessionResponse {
  return {
    id: session.sessionId,
    ticket_id: session.ticketId ?? null,
    model: session.model,
    provider: session.provider,
    started_at: new Date(session.startedAt).toISOString(),
    metadata: session.metadata ?? {},
    instance: session.instance,
  };
}
