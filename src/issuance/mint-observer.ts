// One metric and one log line per mint request (POST /v3/realtime-sessions), whatever its outcome:
// the controller reports a success; every failure, those of the key guard and the body parser
// included, reaches the module's error filter, which reports it here. The log line carries ids,
// the TTL and the bound model only: never the key, the client secret or the bound instructions.
import { Injectable } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';
import { IDENTITY_KEY, type RequestWithIdentity } from '../auth/api-key.guard.js';
import { REALTIME_SESSIONS_PATH } from '../common/module-settings.js';
import { RenderedErrorListener, type RenderedError } from '../errors/realtime-error.filter.js';
import { RealtimeLog } from '../logging/realtime-log.js';
import { requestIdOf } from '../logging/request-id.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import type { TicketRecord } from '../tickets/ticket.record.js';

interface MintHttpRequest extends RequestWithIdentity {
  /** Fastify's request id (genReqId), or pino-http's on Express. */
  id?: unknown;
}

@Injectable()
export class MintObserver extends RenderedErrorListener {
  private readonly log = new RealtimeLog();
  /** Request ids made up here, per request, so a request without one keeps the same id. */
  private readonly madeUp = new WeakMap<object, string>();

  constructor(private readonly metrics: RealtimeMetrics) {
    super();
  }

  /** A ticket was minted and is about to be returned. */
  minted(request: MintHttpRequest, record: TicketRecord, ttlSeconds: number): void {
    this.metrics.mint(200);
    this.log.mint({
      requestId: this.requestIdOf(request),
      projectId: record.projectId,
      keyId: record.keyId,
      model: record.config.model ?? undefined,
      status: 200,
      outcome: 'ok',
      ttlSeconds,
      lockedFields: record.lockedFields,
    });
  }

  /** The filter rendered an error: counted when it answered a mint (a POST on the mint path). */
  onRenderedError(error: RenderedError): void {
    if (error.method !== 'POST' || error.path.replace(/\/+$/, '') !== REALTIME_SESSIONS_PATH) return;
    const request = error.request as MintHttpRequest;
    const identity = request?.[IDENTITY_KEY];
    this.metrics.mint(error.status, error.code);
    this.log.mint({ requestId: this.requestIdOf(request), projectId: identity?.projectId, keyId: identity?.keyId, status: error.status, outcome: error.code });
  }

  private requestIdOf(request: MintHttpRequest | undefined): string | undefined {
    if (!request) return undefined;
    const id = request.id;
    if (typeof id === 'string' || typeof id === 'number') return String(id);
    let madeUp = this.madeUp.get(request);
    if (!madeUp) this.madeUp.set(request, (madeUp = requestIdOf((request.headers ?? {}) as IncomingHttpHeaders)));
    return madeUp;
  }
}
