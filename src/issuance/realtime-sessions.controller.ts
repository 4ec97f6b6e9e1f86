// POST /v3/realtime-sessions: a backend with a runtime key mints a single-use client secret.
import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Inject, Patch, Post, Put, Req, UseGuards } from '@nestjs/common';
import { ApiKeyGuard, IDENTITY_KEY, type RequestWithIdentity } from '../auth/api-key.guard.js';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeApiError } from '../errors/realtime-api.error.js';
import { RESOLVED_OPTIONS } from '../realtime-sessions.constants.js';
import { REALTIME_SESSIONS_PATH, REALTIME_SOCKET_PATH, type ResolvedRealtimeSessionsOptions } from '../realtime-sessions.options.js';
import { TicketService } from '../tickets/ticket.service.js';
import { parseMintRequest } from './mint-request.js';

export interface RealtimeSessionResponse {
  client_secret: string;
  expires_at: string;
  ws_url: string;
}

interface MintHttpRequest extends RequestWithIdentity {
  protocol?: string;
}

@Controller()
export class RealtimeSessionsController {
  constructor(
    private readonly tickets: TicketService,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedRealtimeSessionsOptions,
  ) {}

  @Post(REALTIME_SESSIONS_PATH)
  @HttpCode(HttpStatus.OK)
  @UseGuards(ApiKeyGuard)
  async create(@Req() req: MintHttpRequest, @Body() body: unknown): Promise<RealtimeSessionResponse> {
    this.tickets.assertEnabled();
    const request = parseMintRequest(jsonBodyOf(req, body));
    const { secret, record } = await this.tickets.mint(req[IDENTITY_KEY]!, request);
    return {
      client_secret: secret,
      expires_at: rfc3339Seconds(record.expiresAt),
      ws_url: this.wsUrl(req, secret),
    };
  }

  // One handler per method, not @All: Fastify refuses an all-methods route beside the POST route on
  // the same path (the app would not start). GET also answers HEAD on both platforms.
  @Get(REALTIME_SESSIONS_PATH)
  methodNotAllowedGet(): never {
    throw methodNotAllowed();
  }

  @Put(REALTIME_SESSIONS_PATH)
  methodNotAllowedPut(): never {
    throw methodNotAllowed();
  }

  @Patch(REALTIME_SESSIONS_PATH)
  methodNotAllowedPatch(): never {
    throw methodNotAllowed();
  }

  @Delete(REALTIME_SESSIONS_PATH)
  methodNotAllowedDelete(): never {
    throw methodNotAllowed();
  }

  private wsUrl(req: MintHttpRequest, secret: string): string {
    let base = this.options.publicUrl;
    if (!base) {
      const host = req.headers.host;
      if (typeof host !== 'string' || host === '') return '';
      base = `${req.protocol === 'https' ? 'https' : 'http'}://${host}`;
    }
    try {
      const url = new URL(base.replace(/^http/i, 'ws') + REALTIME_SOCKET_PATH);
      url.searchParams.set('ticket', secret);
      return url.toString();
    } catch {
      return '';
    }
  }
}

function methodNotAllowed(): RealtimeApiError {
  return new RealtimeApiError(HttpStatus.METHOD_NOT_ALLOWED, ErrorCode.MethodNotAllowed, `Use POST on ${REALTIME_SESSIONS_PATH}`, { allow: ['POST'] });
}

/** The request's JSON body, or undefined when it has none; refuses any other media type. */
function jsonBodyOf(req: MintHttpRequest, body: unknown): unknown {
  const contentType = req.headers['content-type'];
  const hasBody =
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') ||
    req.headers['transfer-encoding'] !== undefined;
  if (!hasBody) return undefined;
  if (typeof contentType !== 'string' || !/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new RealtimeApiError(HttpStatus.UNSUPPORTED_MEDIA_TYPE, ErrorCode.UnsupportedMediaType, 'Request body must be application/json');
  }
  return body;
}

/** RFC 3339 UTC with whole seconds, rounded down (never later than the real expiry). */
export function rfc3339Seconds(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
