// The WebSocket transport of the upstream core: reading the provider's frames (pausing the socket
// pushes back over TCP), writing with the drained signal, and turning a close the gateway did not
// ask for into the session's end. Adapters parse frames and translate events.
import WebSocket from 'ws';
import { CloseCode } from '../../errors/close-codes.js';
import type { UpstreamEnd, UpstreamHandlers } from '../realtime-provider.js';
import { endForClose } from './upstream-errors.js';
import { UpstreamSessionCore } from './upstream-session.js';

/** A write this large may not be taken at once even by an idle socket (net.Socket's own mark is 16 KiB). */
export const LARGE_WRITE = 16 * 1024;

/** How long a closing provider gets to answer our close frame before the socket is cut. */
const CLOSE_GRACE_MS = 2000;

export abstract class WebSocketUpstreamSession extends UpstreamSessionCore {
  constructor(
    protected readonly ws: WebSocket,
    handlers: UpstreamHandlers,
    /** Shown in messages, e.g. `OpenAI`. */
    protected readonly providerLabel: string,
  ) {
    super(handlers);
    ws.on('message', this.receive);
    ws.on('close', (code: number, reason: Buffer) => {
      if (!this.isClosed) this.fail(this.endForClose(code, reason.toString('utf8')));
    });
    ws.on('error', () => undefined); // a 'close' always follows
  }

  /**
   * Frames the provider sent before this session took the socket (a warm upstream's parked
   * greeting, core/upstream-socket-pool.ts), read as if they had just arrived.
   */
  replayEarlyMessages(messages: ReadonlyArray<{ data: Buffer; isBinary: boolean }>): void {
    for (const message of messages) this.receive(message.data, message.isBinary);
  }

  private readonly receive = (data: Buffer, isBinary: boolean): void => {
    if (this.isClosed) return;
    try {
      this.onUpstreamMessage(data, isBinary);
    } catch (err) {
      this.failUnreadable(err);
    }
  };

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Handle one provider frame (call `emit`, `markReady`, `fail`); a throw ends the session. */
  protected abstract onUpstreamMessage(data: Buffer, isBinary: boolean): void;

  /** How a close the gateway did not ask for ends the session. */
  protected endForClose(code: number, reason: string): UpstreamEnd {
    return endForClose(this.providerLabel, code, reason);
  }

  protected sendJson(message: unknown): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const text = JSON.stringify(message);
    this.ws.send(text, this.drainedCallbackFor(text.length));
  }

  /** Sends a message the adapter has already serialised (the audio hot path). */
  protected sendSerialized(text: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text, this.drainedCallbackFor(text.length));
  }

  /**
   * The drained signal rides only on writes that may leave data queued (backpressure, docs/protocol.md §3.5): a
   * socket with nothing queued takes a small frame at once, so the write that brings the buffer
   * back down is always one made while it was not empty, and it carries the signal.
   */
  private drainedCallbackFor(length: number): (() => void) | undefined {
    return this.ws.bufferedAmount > 0 || length >= LARGE_WRITE ? this.onWritten : undefined;
  }

  protected pauseTransport(): void {
    this.ws.pause();
  }

  protected resumeTransport(): void {
    this.ws.resume();
  }

  protected releaseTransport(): void {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close(CloseCode.Normal);
    const grace = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
    // Cleared once the socket has closed: a pending timer would keep this session — and through its
    // handlers the client's whole RealtimeSession — reachable for the full grace after the end.
    this.ws.once('close', () => clearTimeout(grace));
  }
}
