// POST /v3/realtime-sessions: a backend with a runtime key mints a single-use client secret
// (idempotently with an `Idempotency-Key` header); DELETE /v3/realtime-sessions/{id} revokes one.
import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Inject, Param, Patch, Post, Put, Req, UseGuards } from '@nestjs/common';
import { ApiExcludeEndpoint } from '@nestjs/swagger';
import { ApiRevokeTicket } from '../openapi/control-route.decorators.js';
import { ApiKeyGuard, IDENTITY_KEY, type RequestWithIdentity } from '../auth/api-key.guard.js';
import { RateLimits } from '../auth/rate-limits.js';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeApiError } from '../errors/realtime-api.error.js';
import { RESOLVED_OPTIONS, REALTIME_SESSIONS_PATH, REALTIME_SOCKET_PATH, type ResolvedRealtimeSessionsOptions } from '../common/module-settings.js';
import { ApiMintRealtimeSession } from '../openapi/mint-route.decorators.js';
import { TicketService } from '../tickets/ticket.service.js';
import { parseMintRequest } from './mint-request.js';
import { MintObserver } from './mint-observer.js';

export interface RealtimeSessionResponse {
  /** The ticket's public id (`rt_…`): not a secret; revoke the ticket with it. */
  id: string;
  client_secret: string;
  expires_at: string;
  ws_url: string;
}

interface MintHttpRequest extends RequestWithIdentity {
  protocol?: string;
}

@Controller()
export class RealtimeSessionsController {
  /** The last base URL of `ws_url`, and its URL around the secret (see wsUrl). */
  private lastWsBase: string | undefined;
  private lastWsTemplate: [string, string] | undefined;

  constructor(
    private readonly tickets: TicketService,
    private readonly rateLimits: RateLimits,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedRealtimeSessionsOptions,
    private readonly observer: MintObserver,
  ) {}

  @Post(REALTIME_SESSIONS_PATH)
  @HttpCode(HttpStatus.OK)
  @UseGuards(ApiKeyGuard)
  @ApiMintRealtimeSession()
  async create(@Req() req: MintHttpRequest, @Body() body: unknown): Promise<RealtimeSessionResponse> {
    this.tickets.assertEnabled();
    // Counted before the body is read: a key flooding with invalid bodies is throttled all the same.
    await this.rateLimits.consumeMint(req[IDENTITY_KEY]!.keyId);
    const request = parseMintRequest(jsonBodyOf(req, body));
    const idempotencyKey = req.headers['idempotency-key'];
    if (Array.isArray(idempotencyKey)) this.tickets.assertIdempotencyKey(idempotencyKey.join(', '));
    const { secret, record } =
      typeof idempotencyKey === 'string'
        ? await this.tickets.mintIdempotent(req[IDENTITY_KEY]!, request, idempotencyKey)
        : await this.tickets.mint(req[IDENTITY_KEY]!, request);
    const response = {
      // Additive (docs/protocol.md §1): the Opper fields keep their names and meaning.
      id: record.publicId!,
      client_secret: secret,
      expires_at: rfc3339Seconds(record.expiresAt),
      ws_url: this.wsUrl(req, secret),
    };
    this.observer.minted(req, record, request.ttlSeconds);
    return response;
  }

  /** Revokes an outstanding ticket of the caller's project: a later upgrade with it gets 401. */
  @Delete(`${REALTIME_SESSIONS_PATH}/:id`)
  @ApiRevokeTicket()
  @HttpCode(HttpStatus.NO_CONTENT)
  @UseGuards(ApiKeyGuard)
  async revoke(@Req() req: MintHttpRequest, @Param('id') id: string): Promise<void> {
    await this.tickets.revoke(req[IDENTITY_KEY]!, id);
  }

  // One handler per method, not @All: Fastify refuses an all-methods route beside the POST route on
  // the same path (the app would not start). GET also answers HEAD on both platforms.
  @Get(REALTIME_SESSIONS_PATH)
  @ApiExcludeEndpoint()
  methodNotAllowedGet(): never {
    throw methodNotAllowed();
  }

  @Put(REALTIME_SESSIONS_PATH)
  @ApiExcludeEndpoint()
  methodNotAllowedPut(): never {
    throw methodNotAllowed();
  }

  @Patch(REALTIME_SESSIONS_PATH)
  @ApiExcludeEndpoint()
  methodNotAllowedPatch(): never {
    throw methodNotAllowed();
  }

  @Delete(REALTIME_SESSIONS_PATH)
  @ApiExcludeEndpoint()
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
    // Parsing the URL was a measurable part of minting: the parsed form of the last base is kept
    // (one entry, so Host headers cannot grow it). A secret is base64url, which the query
    // encoding leaves as it is, so it takes the placeholder's place unchanged.
    if (base !== this.lastWsBase) {
      this.lastWsBase = base;
      this.lastWsTemplate = wsUrlTemplate(base);
    }
    const template = this.lastWsTemplate;
    return template && BASE64URL.test(secret) ? template[0] + secret + template[1] : buildWsUrl(base, secret);
  }
}

const SECRET_PLACEHOLDER = 'SECRETPLACEHOLDER0';
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** `ws[s]://host/v3/realtime?ticket=<secret>`, as URL normalises it; '' when the base is not a URL. */
function buildWsUrl(base: string, secret: string): string {
  try {
    const url = new URL(base.replace(/^http/i, 'ws') + REALTIME_SOCKET_PATH);
    url.searchParams.set('ticket', secret);
    return url.toString();
  } catch {
    return '';
  }
}

/** buildWsUrl's result around the secret, when the placeholder lands in exactly one place. */
function wsUrlTemplate(base: string): [string, string] | undefined {
  const parts = buildWsUrl(base, SECRET_PLACEHOLDER).split(SECRET_PLACEHOLDER);
  return parts.length === 2 ? [parts[0], parts[1]] : undefined;
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

let lastSecond = NaN;
let lastRfc3339 = '';

/** RFC 3339 UTC with whole seconds, rounded down (never later than the real expiry). */
export function rfc3339Seconds(epochMs: number): string {
  // Tickets minted in the same second share it: formatting a date was measurable on the mint path.
  const second = Math.floor(epochMs / 1000);
  if (second !== lastSecond) {
    lastRfc3339 = new Date(second * 1000).toISOString().replace('.000Z', 'Z');
    lastSecond = second;
  }
  return lastRfc3339;
}
