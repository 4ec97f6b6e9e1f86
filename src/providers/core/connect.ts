// Connecting with a budget, once for every WebSocket adapter: open the socket within the connect
// timeout, let the adapter send its opening message, and wait for the provider's confirmation
// within what remains of the same budget (a client secret fetched first counts against it too).
// With warm upstreams on (`params.upstreamSockets`), an already-open socket to the same target is
// taken instead of connecting, and its parked greeting is replayed to the new session.
import WebSocket from 'ws';
import type { OpenUpstreamParams } from '../realtime-provider.js';
import { throwIfAbandoned, UpstreamConnectError } from './upstream-errors.js';
import { openUpstreamSocket } from './upstream-socket.js';
import type { UpstreamTarget } from './upstream-target.js';
import type { WebSocketUpstreamSession } from './websocket-upstream-session.js';

export interface ConnectOptions extends UpstreamTarget {
  /** Connect + confirmation budget. */
  connectTimeoutMs: number;
  /** When the budget started (e.g. before a client-secret exchange). Default: now. */
  startedAt?: number;
}

/**
 * Connects, builds the session with `create`, calls `start` (the opening message) and waits for
 * readiness. Rejects with an UpstreamConnectError whose message is safe to show the client.
 */
export async function connectUpstream<S extends WebSocketUpstreamSession>(
  params: OpenUpstreamParams,
  options: ConnectOptions,
  create: (ws: WebSocket) => S,
  start: (session: S) => void,
): Promise<S> {
  const startedAt = options.startedAt ?? Date.now();
  const remaining = () => options.connectTimeoutMs - (Date.now() - startedAt);
  if (remaining() <= 0) throw UpstreamConnectError.timedOut();
  throwIfAbandoned(params.signal);
  const warm = params.upstreamSockets?.take({ url: options.url, headers: options.headers, protocols: options.protocols });
  if (warm) {
    const session = create(warm.ws);
    if (warm.early.length) session.replayEarlyMessages(warm.early);
    start(session);
    try {
      await session.waitUntilReady(remaining(), params.signal);
      return session;
    } catch (err) {
      // A warm socket the provider closed as it was handed out (it idled out there, or the
      // connection broke unseen) costs a fresh connect, not the session; a refusal on an open
      // socket (or no budget left) is the answer.
      if (warm.ws.readyState === WebSocket.OPEN || remaining() <= 0 || params.signal.aborted) throw err;
      session.close();
    }
  }
  // No warm socket for this target (pool off, empty, every parked one closed, or it died at hand-out): connect.
  const ws = await openUpstreamSocket({
    url: options.url,
    headers: options.headers,
    protocols: options.protocols,
    signal: params.signal,
    connectTimeoutMs: remaining(),
  });
  const session = create(ws);
  // openUpstreamSocket hands the socket over paused, so nothing is read before the session listens.
  ws.resume();
  start(session);
  await session.waitUntilReady(remaining(), params.signal);
  return session;
}
