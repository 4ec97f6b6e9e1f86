// The WebSocket endpoint `/v3/realtime` on @nestjs/platform-ws. Nest guards do not run on
// WebSocket connections, so redemption is installed as ws's own verifyClient/handleProtocols hooks:
// a refused client gets an HTTP 401/503 with the error JSON and never a 101.
import type { IncomingMessage } from 'node:http';
import { Inject, Logger } from '@nestjs/common';
import { WebSocketGateway, type OnGatewayConnection, type OnGatewayInit } from '@nestjs/websockets';
import type WebSocket from 'ws';
import type { WebSocketServer } from 'ws';
import { ErrorCode } from '../errors/error-codes.js';
import { RealtimeApiError, toErrorBody } from '../errors/realtime-api.error.js';
import { RESOLVED_OPTIONS, REALTIME_SOCKET_PATH, type ResolvedRealtimeSessionsOptions } from '../common/module-settings.js';
import { peekAdmission, setAdmission, takeAdmission } from './admission.js';
import { RealtimeConnectionGuard } from './realtime-connection.guard.js';
import { RealtimeProxyService, type ReservedAdmission } from './realtime-proxy.service.js';

type VerifyCallback = (result: boolean, code?: number, message?: string, headers?: Record<string, string>) => void;

@WebSocketGateway({ path: REALTIME_SOCKET_PATH })
export class RealtimeGateway implements OnGatewayInit<WebSocketServer>, OnGatewayConnection<WebSocket> {
  private readonly logger = new Logger(RealtimeGateway.name);

  constructor(
    private readonly guard: RealtimeConnectionGuard,
    private readonly proxy: RealtimeProxyService,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedRealtimeSessionsOptions,
  ) {}

  afterInit(server: WebSocketServer): void {
    // Frames up to twice the limit are read so the session can say `frame_too_big` before closing
    // with 1009; anything larger is refused by ws at the frame header, before its payload is read.
    server.options.maxPayload = this.options.limits.maxFrameBytes * 2;
    server.options.verifyClient = (info: { req: IncomingMessage }, cb: VerifyCallback) => {
      this.verify(info.req).then(
        () => cb(true),
        (err: unknown) => {
          const { status, body } = this.rejection(err);
          cb(false, status, JSON.stringify(body), { 'Content-Type': 'application/json' });
        },
      );
    };
    server.options.handleProtocols = (protocols: Set<string>, req: IncomingMessage) =>
      this.guard.selectProtocol(protocols, peekAdmission(req));
  }

  handleConnection(client: WebSocket, req: IncomingMessage): void {
    const admission = takeAdmission(req) as ReservedAdmission | undefined;
    if (!admission) {
      // Only reachable if another adapter bypassed verifyClient: never serve an unverified socket.
      client.close(1008);
      return;
    }
    this.proxy.attach(client, admission, req);
  }

  private async verify(req: IncomingMessage): Promise<void> {
    const admission = await this.guard.admit(req);
    setAdmission(req, await this.proxy.reserve(admission, req));
  }

  private rejection(err: unknown): { status: number; body: object } {
    if (err instanceof RealtimeApiError) return { status: err.getStatus(), body: err.getResponse() as object };
    this.logger.error(`Upgrade failed: ${(err as Error)?.stack ?? String(err)}`);
    return { status: 503, body: toErrorBody(ErrorCode.InternalError, 'The connection could not be verified') };
  }
}
