// For host apps with their own @WebSocketGateway()s on @nestjs/platform-ws: WsAdapter's upgrade
// listener destroys every socket whose path none of its gateways serves, which would cut
// /v3/realtime before this module's own listener (realtime-endpoint.ts) answers it. This subclass
// registers the realtime path as served, by an entry that leaves the socket alone. Register it the
// documented way: `app.useWebSocketAdapter(new RealtimeWsAdapter(app))`. The hook it uses is
// WsAdapter's protected registry; test/host-app/host-gateway.e2e-spec.ts fails if Nest changes it.
import { WsAdapter } from '@nestjs/platform-ws';
import { REALTIME_SOCKET_PATH } from '../common/module-settings.js';

/** Stands for /v3/realtime in WsAdapter's path registry: the module's own listener upgrades it. */
const LEFT_TO_REALTIME_MODULE = {
  path: REALTIME_SOCKET_PATH,
  handleUpgrade(): void {},
};

export class RealtimeWsAdapter extends WsAdapter {
  protected override ensureHttpServerExists(...args: Parameters<WsAdapter['ensureHttpServerExists']>) {
    const [port] = args;
    const first = !this.httpServersRegistry.has(port);
    const server = super.ensureHttpServerExists(...args);
    // Only the app's own HTTP server (port 0) is the one the module listens on. Registered before
    // any gateway of the host: the first entry whose path matches takes the request.
    if (first && port === 0) this.addWsServerToRegistry({ ...LEFT_TO_REALTIME_MODULE }, port, REALTIME_SOCKET_PATH);
    return server;
  }
}
