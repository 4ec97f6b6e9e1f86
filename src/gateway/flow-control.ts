// Two-way backpressure of one session (docs/protocol.md §3.5). When the client socket's send buffer
// passes the high-water mark, upstream events stop (the upstream is paused); when the upstream's
// does, reading the client stops (the socket is paused). Each side resumes once its buffer is back
// under half the mark: the client side on ws's write callback, the upstream side on the provider's
// drained signal (`UpstreamHandlers.onDrain`), so nothing polls. Both ride only on writes made while
// the socket had data queued (or large ones): the last write before a pause is always one of them. A side that stays over the mark for
// `slowConsumerSeconds` is reported once through `onSlow`.
import type WebSocket from 'ws';
import type { Clock } from '../common/clock.js';
import type { UpstreamSession } from '../providers/realtime-provider.js';

/** A write this large may not be taken at once even by an idle socket (net.Socket's own mark is 16 KiB). */
const LARGE_WRITE = 16 * 1024;

export interface FlowLimits {
  highWaterMarkBytes: number;
  slowConsumerSeconds: number;
}

export type SlowSide = 'client' | 'upstream';

export class FlowControl {
  /** The live upstream, once there is one; cleared when it is released. */
  upstream: UpstreamSession | undefined;
  private clientOverMark = false;
  private upstreamOverMark = false;
  private slowTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly limits: FlowLimits,
    private readonly clock: Clock,
    private readonly onSlow: (side: SlowSide) => void,
  ) {}

  /** Call after every send to the client. */
  afterClientSend(): void {
    if (this.clientOverMark || this.ws.bufferedAmount <= this.limits.highWaterMarkBytes) return;
    // The browser reads slower than the model speaks: stop taking upstream events rather than
    // buffering them without bound.
    this.clientOverMark = true;
    this.upstream?.pause();
    this.armSlowTimer();
  }

  /**
   * The write callback a client send of `length` bytes needs: only one that may leave data queued
   * (a socket with nothing queued takes a small frame at once), so the write that brings the
   * buffer back under the mark, made while it was not empty, always carries it. No callback per
   * audio frame while the browser keeps up.
   */
  clientSendCallback(length: number): (() => void) | undefined {
    return this.ws.bufferedAmount > 0 || length >= LARGE_WRITE ? this.onClientFlushed : undefined;
  }

  /** The write callback of client sends that may queue (one function, not a closure per frame). */
  readonly onClientFlushed = (): void => {
    if (!this.clientOverMark || this.ws.bufferedAmount > this.limits.highWaterMarkBytes / 2) return;
    this.clientOverMark = false;
    this.upstream?.resume();
    this.disarmSlowTimerIfDrained();
  };

  /** Call after every send to the upstream. */
  afterUpstreamSend(): void {
    if (this.upstreamOverMark || !this.upstream || this.upstream.bufferedAmount <= this.limits.highWaterMarkBytes) return;
    // The upstream cannot take audio as fast as the client sends it: stop reading the client.
    this.upstreamOverMark = true;
    this.ws.pause();
    this.armSlowTimer();
  }

  /** The provider's drained signal (called after each upstream write; cheap when not over the mark). */
  readonly onUpstreamDrained = (): void => {
    if (!this.upstreamOverMark) return;
    if (this.upstream && this.upstream.bufferedAmount > this.limits.highWaterMarkBytes / 2) return;
    this.upstreamOverMark = false;
    this.ws.resume();
    this.disarmSlowTimerIfDrained();
  };

  /** Which side is over its mark now (the client first: its buffer is the one that can grow). */
  get slowSide(): SlowSide | undefined {
    return this.clientOverMark ? 'client' : this.upstreamOverMark ? 'upstream' : undefined;
  }

  stop(): void {
    this.clock.clearTimeout(this.slowTimer);
    this.slowTimer = undefined;
  }

  private armSlowTimer(): void {
    if (this.slowTimer) return;
    this.slowTimer = this.clock.setTimeout(() => {
      this.slowTimer = undefined;
      const side = this.slowSide;
      if (side) this.onSlow(side);
    }, this.limits.slowConsumerSeconds * 1000);
  }

  private disarmSlowTimerIfDrained(): void {
    if (this.slowTimer && !this.clientOverMark && !this.upstreamOverMark) this.stop();
  }
}
