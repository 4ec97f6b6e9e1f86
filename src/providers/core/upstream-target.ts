// What a warm upstream is, as the rest of the providers see it: the target a socket was opened with
// and the source `connectUpstream` takes open sockets from (the pool itself is
// upstream-socket-pool.ts). Types only, so the provider interface can name them without a cycle.
import type WebSocket from 'ws';

/** What an upstream socket is opened with; two equal targets are interchangeable sockets. */
export interface UpstreamTarget {
  url: string;
  headers?: Record<string, string>;
  protocols?: string[];
}

/** A frame the provider sent while the socket was parked, in arrival order. */
export interface EarlyMessage {
  data: Buffer;
  isBinary: boolean;
}

export interface WarmSocket {
  ws: WebSocket;
  /** Replay these, in order, to the session that takes the socket, before anything else it reads. */
  early: EarlyMessage[];
}

/** Where `connectUpstream` looks for an already-open socket before it connects. */
export interface UpstreamSocketSource {
  /** An OPEN socket for this target, or undefined (connect as usual). The socket is the caller's now. */
  take(target: UpstreamTarget): WarmSocket | undefined;
}
