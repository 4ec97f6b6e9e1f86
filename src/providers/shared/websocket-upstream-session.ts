// The mechanics every WebSocket-based provider session shares: holding events while the client is
// over its high-water mark, readiness (resolve once the provider confirms the session), the
// difference between a close by the gateway (silent) and an end by the upstream (reported once).
// Adapters only translate messages.
import WebSocket from 'ws';
import { ErrorCode } from '../../errors/error-codes.js';
import type { ClientEvent, ServerEvent, UpstreamEnd, UpstreamHandlers, UpstreamSession } from '../realtime-provider.js';
import { UpstreamConnectError } from './upstream-socket.js';

const CLOSE_GRACE_MS = 2000;

export abstract class WebSocketUpstreamSession implements UpstreamSession {
  abstract readonly inputSampleRate: number;
  abstract readonly outputSampleRate: number;

  private paused = false;
  private held: ServerEvent[] = [];
  private closedByGateway = false;
  private ended = false;
  private isReady = false;
  private settleReady!: (err?: Error) => void;
  /** Resolves when the provider confirmed the session; rejects if it closes or fails first. */
  readonly ready: Promise<void>;

  constructor(
    protected readonly ws: WebSocket,
    protected readonly handlers: UpstreamHandlers,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => (err ? reject(err) : resolve());
    });
    // Callers await `ready`; a rejection nobody awaits yet must not crash the process.
    this.ready.catch(() => undefined);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.closedByGateway || this.ended) return;
      try {
        this.onUpstreamMessage(data, isBinary);
      } catch (err) {
        this.fail({ code: ErrorCode.UpstreamError, message: `Unreadable upstream message: ${(err as Error).message}`, closeCode: 1011 });
      }
    });
    ws.on('close', (code: number, reason: Buffer) => this.onUpstreamClose(code, reason.toString('utf8')));
    ws.on('error', () => undefined); // a 'close' always follows
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Translate one normalized client event to the provider's wire protocol. */
  abstract send(event: ClientEvent): void;

  /** Handle one provider frame (call `emit`, `markReady`, `fail`). */
  protected abstract onUpstreamMessage(data: Buffer, isBinary: boolean): void;

  /** How a close the gateway did not ask for ends the session. */
  protected abstract endForClose(code: number, reason: string): UpstreamEnd;

  /** Waits for readiness at most `timeoutMs`; closes the socket and rejects otherwise. */
  async waitUntilReady(timeoutMs: number, signal: AbortSignal): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => this.settleReady(new UpstreamConnectError('The session was abandoned before the upstream opened'));
    signal.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => this.settleReady(new UpstreamConnectError('The upstream did not confirm the session in time')), timeoutMs);
    try {
      await this.ready;
    } catch (err) {
      this.close();
      throw err;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  pause(): void {
    this.paused = true;
    // Stop reading the provider's socket: TCP carries the backpressure to the provider.
    this.ws.pause();
  }

  resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const event of held) {
      if (this.paused || this.closedByGateway) {
        this.held.push(event);
        continue;
      }
      this.handlers.onEvent(event);
    }
    if (!this.paused) this.ws.resume();
  }

  close(): void {
    if (this.closedByGateway) return;
    this.closedByGateway = true;
    this.held = [];
    this.settleReady(new UpstreamConnectError('The session was closed'));
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  protected get isClosed(): boolean {
    return this.closedByGateway || this.ended;
  }

  protected markReady(): void {
    this.isReady = true;
    this.settleReady();
  }

  protected emit(event: ServerEvent): void {
    if (this.closedByGateway || this.ended) return;
    if (this.paused) this.held.push(event);
    else this.handlers.onEvent(event);
  }

  protected sendJson(message: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message), this.onWritten);
  }

  /** Sends a message the adapter has already serialised (the audio hot path). */
  protected sendSerialized(text: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text, this.onWritten);
  }

  /** The write callback of every send (one function, not a closure per frame): the drained signal. */
  private readonly onWritten = (): void => {
    if (!this.closedByGateway) this.handlers.onDrain?.();
  };

  /** Ends the session from the provider side: reported once, then the socket is closed. */
  protected fail(end: UpstreamEnd): void {
    if (this.closedByGateway || this.ended) return;
    if (!this.isReady) {
      this.ended = true;
      this.settleReady(new UpstreamConnectError(end.message));
    } else {
      this.ended = true;
      this.flushHeld();
      this.handlers.onEnd(end);
    }
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  private onUpstreamClose(code: number, reason: string): void {
    if (this.closedByGateway || this.ended) return;
    this.fail(this.endForClose(code, reason));
  }

  private flushHeld(): void {
    const held = this.held;
    this.held = [];
    for (const event of held) this.handlers.onEvent(event);
  }
}
