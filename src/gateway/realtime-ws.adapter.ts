// The WebSocket adapter behind the realtime gateway: @nestjs/platform-ws's WsAdapter, except that
// it does not JSON-parse frames for gateways without @SubscribeMessage handlers (the realtime
// gateway reads raw frames itself; parsing every audio frame twice is the first relay cost).
// Other gateways of a host app keep the usual behaviour.
import { Injectable } from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';

export class RealtimeWsAdapter extends WsAdapter {
  private readonly resolveHttpServer: (() => unknown) | undefined;

  /** `appOrHttpServer` as for WsAdapter, or an HttpAdapterHost whose server is read when needed. */
  constructor(appOrHttpServer?: object) {
    const host = appOrHttpServer instanceof HttpAdapterHost ? appOrHttpServer : undefined;
    super(host ? undefined : appOrHttpServer);
    this.resolveHttpServer = host ? () => host.httpAdapter?.getHttpServer() : undefined;
  }

  override create(port: number, options?: Record<string, unknown> & { namespace?: string; server?: unknown }) {
    if (!this.httpServer && this.resolveHttpServer) (this as unknown as { httpServer: unknown }).httpServer = this.resolveHttpServer();
    return super.create(port, options);
  }

  override bindMessageHandlers(
    client: unknown,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    if (handlers.length === 0) return;
    super.bindMessageHandlers(client, handlers, transform);
  }
}

interface IoAdapterConfig {
  getIoAdapter(): unknown;
  setIoAdapter(adapter: unknown): void;
}

/**
 * Installs RealtimeWsAdapter when the host app has not chosen a WebSocket adapter, so importing the
 * module is enough (Nest would otherwise look for socket.io). `app.useWebSocketAdapter(...)` in the
 * host still wins; it must then be a ws-based adapter (WsAdapter or RealtimeWsAdapter).
 */
@Injectable()
export class RealtimeWsAdapterInstaller {
  constructor(moduleRef: ModuleRef, adapterHost: HttpAdapterHost) {
    // Nest exposes no public hook for this before init; the container's ApplicationConfig is the
    // object `app.useWebSocketAdapter` writes to.
    const config = (moduleRef as unknown as { container?: { applicationConfig?: IoAdapterConfig } }).container?.applicationConfig;
    if (config && !config.getIoAdapter()) config.setIoAdapter(new RealtimeWsAdapter(adapterHost));
  }
}
