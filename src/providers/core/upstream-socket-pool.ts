// Warm upstreams: a small pool of provider WebSockets that are connected but not yet configured,
// so that `session.start` does not pay the provider's connect time. A session's config is only
// known at `session.start`, so the pool sits at the transport level, keyed by what the socket was
// opened with (URL, headers, subprotocols): it hands out an OPEN socket with the messages it
// received while parked (e.g. OpenAI's unprompted `session.created`), which the adapter reads as if
// they had just arrived, then refills in the background. A socket idle past `idleMs` is closed and
// replaced (a provider's session clock runs from the connect); one the provider closes while
// parked is dropped and replaced; `close()` lets go of everything (sockets, connects, timers).
import WebSocket from 'ws';
import { systemClock, type Clock } from '../../common/clock.js';
import { sha256Hex } from '../../common/digest.js';
import { CloseCode } from '../../errors/close-codes.js';
import { openUpstreamSocket } from './upstream-socket.js';
import type { EarlyMessage, UpstreamSocketSource, UpstreamTarget, WarmSocket } from './upstream-target.js';

export type { EarlyMessage, UpstreamSocketSource, UpstreamTarget, WarmSocket } from './upstream-target.js';

export interface UpstreamSocketPoolOptions {
  /** Parked sockets kept per target. */
  size: number;
  /** A socket parked this long is closed and replaced. */
  idleMs: number;
  clock?: Clock;
  /** A session asked for a socket to a warmed target: `warm` when one was parked, else it connects itself. */
  onTake?(warm: boolean): void;
  /** A background connect failed (the pool retries with a backoff). `label` never holds the URL. */
  onConnectError?(label: string, err: Error, consecutiveFailures: number): void;
}

export interface WarmTargetSettings {
  /** Shown in `onConnectError` (e.g. the model id); the URL is not, as it may carry a key. */
  label: string;
  connectTimeoutMs: number;
}

/**
 * More than this parked, unread, is not a greeting: the socket is dropped. A provider's greeting is
 * one or two small events.
 */
const MAX_EARLY_MESSAGES = 32;
const MAX_EARLY_BYTES = 256 * 1024;
/** Backoff of a target whose background connects fail: 0.5 s, doubling, at most 30 s. */
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 30_000;
/** How long a parked socket gets to answer our close frame at shutdown before it is cut. */
const CLOSE_GRACE_MS = 1000;

interface Parked {
  ws: WebSocket;
  early: EarlyMessage[];
  earlyBytes: number;
  idleTimer: NodeJS.Timeout | undefined;
  detach(): void;
}

interface Slot {
  target: UpstreamTarget;
  settings: WarmTargetSettings;
  parked: Parked[];
  connecting: number;
  failures: number;
  retryTimer: NodeJS.Timeout | undefined;
}

export class UpstreamSocketPool implements UpstreamSocketSource {
  private readonly slots = new Map<string, Slot>();
  private readonly clock: Clock;
  private readonly abort = new AbortController();
  private readonly inflight = new Set<Promise<unknown>>();
  /** Sockets being closed (idle, or at shutdown); `close()` waits for them. */
  private readonly closing = new Set<Promise<void>>();
  private closed = false;
  /** Sockets handed out so far (for tests and the bench). */
  handedOut = 0;

  constructor(private readonly options: UpstreamSocketPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new Error('UpstreamSocketPool: size must be a positive integer');
    if (!(options.idleMs > 0)) throw new Error('UpstreamSocketPool: idleMs must be positive');
    this.clock = options.clock ?? systemClock;
  }

  /** Keep `size` sockets open to this target from now on. Idempotent per target. */
  warm(target: UpstreamTarget, settings: WarmTargetSettings): void {
    if (this.closed) return;
    const key = keyOf(target);
    if (this.slots.has(key)) return;
    const slot: Slot = { target, settings, parked: [], connecting: 0, failures: 0, retryTimer: undefined };
    this.slots.set(key, slot);
    this.fill(slot);
  }

  take(target: UpstreamTarget): WarmSocket | undefined {
    if (this.closed) return undefined;
    const slot = this.slots.get(keyOf(target));
    if (!slot) return undefined;
    let taken: WarmSocket | undefined;
    // The newest first: the provider's session clock started at its connect.
    while (!taken && slot.parked.length) {
      const parked = slot.parked.pop()!;
      this.unpark(parked);
      if (parked.ws.readyState === WebSocket.OPEN) taken = { ws: parked.ws, early: parked.early };
      else parked.ws.terminate();
    }
    if (taken) this.handedOut += 1;
    this.options.onTake?.(taken !== undefined);
    this.fill(slot);
    return taken;
  }

  /** Parked sockets per target label (for tests and the bench). */
  parkedCount(): number {
    let n = 0;
    for (const slot of this.slots.values()) n += slot.parked.length;
    return n;
  }

  /** Closes every parked socket, abandons every connect, clears every timer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    for (const slot of this.slots.values()) {
      this.clock.clearTimeout(slot.retryTimer);
      slot.retryTimer = undefined;
      for (const parked of slot.parked.splice(0)) {
        this.unpark(parked);
        this.closeSocket(parked.ws);
      }
    }
    await Promise.allSettled([...this.inflight]);
    await Promise.allSettled([...this.closing]);
  }

  private fill(slot: Slot): void {
    while (!this.closed && slot.retryTimer === undefined && slot.parked.length + slot.connecting < this.options.size) {
      this.connectOne(slot);
    }
  }

  private connectOne(slot: Slot): void {
    slot.connecting += 1;
    const attempt = openUpstreamSocket({
      url: slot.target.url,
      headers: slot.target.headers,
      protocols: slot.target.protocols,
      signal: this.abort.signal,
      connectTimeoutMs: slot.settings.connectTimeoutMs,
    }).then(
      (ws) => {
        slot.connecting -= 1;
        if (this.closed) return this.closeSocket(ws);
        slot.failures = 0;
        this.park(slot, ws);
      },
      (err: Error) => {
        slot.connecting -= 1;
        if (this.closed) return;
        slot.failures += 1;
        this.options.onConnectError?.(slot.settings.label, err, slot.failures);
        if (slot.retryTimer !== undefined) return;
        const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(16, slot.failures - 1));
        slot.retryTimer = this.clock.setTimeout(() => {
          slot.retryTimer = undefined;
          this.fill(slot);
        }, delay);
      },
    );
    this.inflight.add(attempt);
    void attempt.finally(() => this.inflight.delete(attempt));
  }

  private park(slot: Slot, ws: WebSocket): void {
    const parked: Parked = {
      ws,
      early: [],
      earlyBytes: 0,
      idleTimer: undefined,
      detach: () => {
        ws.off('message', onMessage);
        ws.off('close', onClose);
        ws.off('error', onError);
      },
    };
    const drop = (closeIt: boolean) => {
      const index = slot.parked.indexOf(parked);
      if (index < 0) return;
      slot.parked.splice(index, 1);
      this.unpark(parked);
      if (closeIt) this.closeSocket(ws);
      this.fill(slot);
    };
    const onMessage = (data: Buffer, isBinary: boolean) => {
      parked.early.push({ data, isBinary });
      parked.earlyBytes += data.length;
      if (parked.early.length > MAX_EARLY_MESSAGES || parked.earlyBytes > MAX_EARLY_BYTES) drop(true);
    };
    const onClose = () => drop(false);
    const onError = () => undefined; // a 'close' follows
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.on('error', onError);
    parked.idleTimer = this.clock.setTimeout(() => drop(true), this.options.idleMs);
    slot.parked.push(parked);
    // Paused by openUpstreamSocket until the listeners above were on.
    ws.resume();
  }

  private unpark(parked: Parked): void {
    parked.detach();
    this.clock.clearTimeout(parked.idleTimer);
    parked.idleTimer = undefined;
  }

  /** A close frame, then the socket is cut if the provider does not answer in time. */
  private closeSocket(ws: WebSocket): void {
    ws.on('error', () => undefined);
    if (ws.readyState === WebSocket.CLOSED) return;
    // A socket fresh from openUpstreamSocket is paused: it must read the provider's close reply.
    ws.resume();
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.closing.add(done);
    void done.finally(() => this.closing.delete(done));
    if (ws.readyState === WebSocket.OPEN) ws.close(CloseCode.Normal);
    else ws.terminate();
  }
}

/** The pool's key: a digest, so the map holds no key or bearer token in plain form. */
function keyOf(target: UpstreamTarget): string {
  const headers = Object.entries(target.headers ?? {})
    .map(([name, value]) => [name.toLowerCase(), value])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256Hex(JSON.stringify([target.url, headers, target.protocols ?? []]));
}
