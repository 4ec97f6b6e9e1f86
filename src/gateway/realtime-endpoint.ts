// The one place a connection to /v3/realtime is accepted (docs/protocol.md §2). The module owns a
// `noServer` ws server and listens to `upgrade` on the app's HTTP server (public HttpAdapterHost,
// Express and Fastify alike). For each upgrade on the realtime path, admission runs first; a refusal
// is a real HTTP 401/503 with the error JSON and never a 101; an admitted socket is upgraded and the
// admission handed to its session in the same closure. Other paths are left to other listeners
// (a host app's own gateways: see realtime-ws.adapter.ts).
import type { IncomingMessage, Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createRequire } from 'node:module';
import { WebSocketServer } from 'ws';
import { RateLimits } from '../auth/rate-limits.js';
import { REALTIME_SOCKET_PATH, RESOLVED_OPTIONS, type ResolvedRealtimeSessionsOptions } from '../common/module-settings.js';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import { RealtimeApiError, toErrorBody } from '../errors/realtime-api.error.js';
import { SessionRegistry, type ClaimedResume } from './session-registry.js';
import { offeredProtocols, RESUME_PROTOCOL_PREFIX, resumeProtocolOf, selectProtocol, ticketProtocolOf } from './subprotocols.js';
import { TicketAdmission, type Admission } from './ticket-admission.js';

/** What ws itself requires of a handshake (ws 8 `handleUpgrade`); checked before a ticket is spent. */
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * ws's own Sec-WebSocket-Protocol parser (on its CommonJS export, which the ESM wrapper and the
 * types leave out): it throws exactly where ws's handleUpgrade would answer 400.
 */
const parseSubprotocols = (createRequire(import.meta.url)('ws') as { subprotocol: { parse(header: string): Set<string> } }).subprotocol.parse;

function validProtocolHeader(header: string | undefined): boolean {
  if (header === undefined) return true;
  try {
    parseSubprotocols(header);
    return true;
  } catch {
    // Empty entries, duplicates (a ticket offered twice), characters outside a token.
    return false;
  }
}

function isWebSocketHandshake(req: IncomingMessage): boolean {
  const key = req.headers['sec-websocket-key'];
  const version = Number(req.headers['sec-websocket-version']);
  return (
    req.method === 'GET' &&
    req.headers.upgrade?.toLowerCase() === 'websocket' &&
    typeof key === 'string' &&
    WEBSOCKET_KEY.test(key) &&
    (version === 13 || version === 8) &&
    // Otherwise ws would refuse the upgrade (400) after admission had already consumed the ticket.
    validProtocolHeader(req.headers['sec-websocket-protocol'])
  );
}

function pathnameOf(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '/', 'ws://localhost').pathname;
  } catch {
    return undefined;
  }
}

@Injectable()
export class RealtimeEndpoint implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger(RealtimeEndpoint.name);
  private readonly wss: WebSocketServer;
  private httpServer: Server | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly admission: TicketAdmission,
    private readonly registry: SessionRegistry,
    private readonly rateLimits: RateLimits,
    @Inject(RESOLVED_OPTIONS) options: ResolvedRealtimeSessionsOptions,
    private readonly metrics: RealtimeMetrics,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      // Frames up to twice the limit are read so the session can say `frame_too_big` before closing
      // with 1009; anything larger is refused by ws at the frame header, before its payload is read.
      maxPayload: options.limits.maxFrameBytes * 2,
      handleProtocols: selectProtocol,
    });
  }

  /** Sockets upgraded and not yet closed (every one of them belongs to a session). */
  get connectedSockets(): number {
    return this.wss.clients.size;
  }

  onApplicationBootstrap(): void {
    // No HTTP server (an application context, a microservice): there is nothing to listen on.
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (typeof server?.on !== 'function') return;
    this.httpServer = server;
    server.on('upgrade', this.onUpgrade);
  }

  /** New connections stop first; the registry then ends the live sessions. */
  onModuleDestroy(): void {
    this.httpServer?.off('upgrade', this.onUpgrade);
    this.httpServer = undefined;
  }

  onApplicationShutdown(): void {
    this.wss.close();
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (pathnameOf(req.url) !== REALTIME_SOCKET_PATH) {
      // Another listener's path; when there is none, nobody would ever answer this socket.
      if (this.httpServer && this.httpServer.listenerCount('upgrade') === 1) socket.destroy();
      return;
    }
    void this.accept(req, socket, head);
  };

  private async accept(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // Node's HTTP server stops watching an upgraded socket for errors; until ws takes it over, a
    // reset while this waits must not become an uncaught 'error'.
    const onError = () => socket.destroy();
    socket.on('error', onError);
    try {
      // Every attempt counts, well-formed or not, and the refusal comes before any ticket is read.
      await this.rateLimits.consumeUpgrade(req);
    } catch (err) {
      this.refuse(socket, err);
      return;
    }
    if (!isWebSocketHandshake(req)) {
      // ws answers a broken handshake (400/405) itself; it cannot upgrade one, but were it to,
      // the socket is not admitted and is cut at once.
      this.wss.handleUpgrade(req, socket, head, (ws) => ws.terminate());
      return;
    }
    const resume = req.headers.authorization === undefined ? resumeProtocolOf(offeredProtocols(req)) : undefined;
    if (resume !== undefined && ticketProtocolOf(offeredProtocols(req)) === undefined) {
      return this.acceptResume(req, socket, head, resume.slice(RESUME_PROTOCOL_PREFIX.length), onError);
    }
    let admission;
    try {
      admission = await this.admission.admit(req);
    } catch (err) {
      this.refuse(socket, err);
      return;
    }
    const admitted = admission;
    // If the upgrade dies between admission and the 101, no session will ever free the slot.
    const releaseUnclaimed = () => this.admission.release(admitted);
    if (socket.destroyed || !socket.writable) return releaseUnclaimed();
    socket.once('close', releaseUnclaimed);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('close', releaseUnclaimed);
      socket.off('error', onError);
      this.registry.attach(ws, admitted);
    });
  }

  /**
   * `opper-resume.<token>` (session-resume.ts): the deployment's origins, then the token, spent at
   * once (exactly one upgrade wins, on any instance; a replay gets 401 `invalid_resume_token`),
   * then the 101 and the live session takes the new socket. A session running on another instance
   * is handed over first (session-handover.ts) and takes its project slot here. A socket that dies
   * before the 101 leaves a local session waiting until its grace window ends (the token is spent);
   * a handed-over one ends there and then.
   */
  private async acceptResume(req: IncomingMessage, socket: Duplex, head: Buffer, token: string, onError: () => void): Promise<void> {
    let claimed: ClaimedResume | undefined;
    let adopted: Admission | undefined;
    try {
      this.admission.checkDeploymentOrigin(req);
      claimed = token ? await this.claim(token) : undefined;
      if (!claimed) {
        throw new RealtimeApiError(401, ErrorCode.InvalidResumeToken, 'Invalid resume token: unknown, already used, or its session has ended');
      }
      if ('carried' in claimed) adopted = await this.admission.adopt(claimed.carried);
    } catch (err) {
      if (claimed && 'carried' in claimed) this.registry.lost(claimed.carried);
      this.metrics.resume(err instanceof RealtimeApiError && err.getStatus() < 500 ? 'refused' : 'unavailable');
      return this.refuse(socket, err);
    }
    const resumed = claimed;
    this.metrics.resume('local' in resumed ? 'local' : 'handed_over');
    const admission = adopted;
    if (socket.destroyed || !socket.writable) {
      if ('carried' in resumed) this.registry.lost(resumed.carried, admission);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      socket.off('error', onError);
      if ('local' in resumed) resumed.local.resumeWith(ws);
      else this.registry.adopt(ws, resumed.carried, admission!);
    });
  }

  /** The token's session; a 503 when the token store cannot be reached (fail closed). */
  private async claim(token: string): Promise<ClaimedResume | undefined> {
    try {
      return await this.registry.claimResume(token, () => {
        throw new RealtimeApiError(503, ErrorCode.ServerDraining, 'This instance is shutting down and takes no session over; retry');
      });
    } catch (err) {
      if (err instanceof RealtimeApiError) throw err;
      this.logger.error(`Resume token store failed: ${(err as Error)?.message ?? String(err)}`);
      throw new RealtimeApiError(503, ErrorCode.SessionStoreUnavailable, 'Sessions cannot be resumed right now; try again later');
    }
  }

  /** The refusal as a real HTTP response, before any 101, so non-browser clients can read it. */
  private refuse(socket: Duplex, err: unknown): void {
    let status: number;
    let body: object;
    if (err instanceof RealtimeApiError) {
      status = err.getStatus();
      body = err.getResponse() as object;
    } else {
      this.logger.error(`Upgrade failed: ${(err as Error)?.stack ?? String(err)}`);
      status = 503;
      body = toErrorBody(ErrorCode.InternalError, 'The connection could not be verified');
    }
    if (!socket.writable) return void socket.destroy();
    const json = JSON.stringify(body);
    const retryAfter = err instanceof RealtimeApiError && err.retryAfterSeconds !== undefined ? `Retry-After: ${err.retryAfterSeconds}\r\n` : '';
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Connection: close\r\n' +
        retryAfter +
        'Content-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(json)}\r\n` +
        '\r\n' +
        json,
    );
  }
}
