// The upstream core every adapter shares, whatever its transport (a provider's WebSocket, or the
// loopback's in-process echo): ordered delivery of server events with pause/resume, readiness
// (resolve once the provider confirmed the session, within the connect budget), the whole-sample
// rule of `audio.append`, the drained signal, and the difference between a close by the gateway
// (silent) and an end by the upstream (reported once). Adapters only translate.
import { CloseCode } from '../../errors/close-codes.js';
import { ErrorCode } from '../../errors/error-codes.js';
import type { ClientEvent, ServerEvent, UpstreamEnd, UpstreamHandlers, UpstreamSession } from '../realtime-provider.js';
import { base64Bytes, invalidAudioError } from './pcm16.js';
import { UpstreamConnectError } from './upstream-errors.js';

/** Every client event but `audio.append`, which reaches adapters through `appendAudio`. */
export type NonAudioClientEvent = Exclude<ClientEvent, { type: 'audio.append' }>;

export abstract class UpstreamSessionCore implements UpstreamSession {
  abstract readonly inputSampleRate: number;
  abstract readonly outputSampleRate: number;
  /** Bytes queued toward the upstream and not yet written. */
  abstract readonly bufferedAmount: number;

  private paused = false;
  /** The transport stays paused while held events are flushed; a pause during the flush keeps it so. */
  private transportPaused = false;
  /** Events produced while paused (or while earlier ones are still being flushed), in order. */
  private held: ServerEvent[] = [];
  private closedByGateway = false;
  private ended = false;
  private isReady = false;
  private settleReady!: (err?: Error) => void;
  /** Resolves when the provider confirmed the session; rejects if it closes or fails first. */
  readonly ready: Promise<void>;

  constructor(protected readonly handlers: UpstreamHandlers) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => (err ? reject(err) : resolve());
    });
    // Callers await `ready`; a rejection nobody awaits yet must not crash the process.
    this.ready.catch(() => undefined);
  }

  // ── what adapters supply ────────────────────────────────────────────────────────────────────

  /** Whole PCM16 samples, `bytes` > 0, at `inputSampleRate`, as base64. */
  protected abstract appendAudio(audio: string, bytes: number): void;

  /** Translate one other client event to the provider's wire protocol. */
  protected abstract translate(event: NonAudioClientEvent): void;

  /** Stop / restart producing events (e.g. stop reading the socket, so TCP pushes back). */
  protected abstract pauseTransport(): void;
  protected abstract resumeTransport(): void;

  /** Let go of the transport; called once, after a close by the gateway or an end by the upstream. */
  protected abstract releaseTransport(): void;

  // ── UpstreamSession ─────────────────────────────────────────────────────────────────────────

  send(event: ClientEvent): void {
    if (this.isClosed) return;
    if (event.type !== 'audio.append') return this.translate(event);
    // The gateway's rule for every provider: audio is whole PCM16 samples. Read from the base64
    // length, so the hot path decodes nothing.
    const bytes = base64Bytes(event.audio);
    if (bytes % 2 !== 0) return this.emit(invalidAudioError());
    if (bytes > 0) this.appendAudio(event.audio, bytes);
  }

  pause(): void {
    if (this.isClosed || this.paused) return;
    this.paused = true;
    if (this.transportPaused) return;
    this.transportPaused = true;
    this.pauseTransport();
  }

  resume(): void {
    if (this.isClosed || !this.paused) return;
    this.paused = false;
    this.flushHeld();
    if (this.paused || this.isClosed) return;
    this.transportPaused = false;
    this.resumeTransport();
  }

  close(): void {
    if (this.closedByGateway) return;
    const wasEnded = this.ended;
    this.closedByGateway = true;
    this.held = [];
    this.settleReady(UpstreamConnectError.closed());
    if (!wasEnded) this.releaseTransport();
  }

  /** Waits for readiness at most `timeoutMs`; closes the session and rejects otherwise. */
  async waitUntilReady(timeoutMs: number, signal: AbortSignal): Promise<void> {
    const onAbort = () => this.settleReady(UpstreamConnectError.abandoned());
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => this.settleReady(UpstreamConnectError.timedOut()), Math.max(1, timeoutMs));
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

  // ── for adapters ────────────────────────────────────────────────────────────────────────────

  protected get isClosed(): boolean {
    return this.closedByGateway || this.ended;
  }

  protected get isPaused(): boolean {
    return this.paused;
  }

  protected get isConfirmed(): boolean {
    return this.isReady;
  }

  /** The provider confirmed the session. */
  protected markReady(): void {
    this.isReady = true;
    this.settleReady();
  }

  protected emit(event: ServerEvent): void {
    if (this.isClosed) return;
    // While a flush is under way, later events queue behind the held ones to keep their order.
    if (this.paused || this.held.length > 0) this.held.push(event);
    else this.handlers.onEvent(event);
  }

  protected emitError(code: string, message: string): void {
    this.emit({ type: 'error', error: { code, message } });
  }

  /**
   * The write callback of every send toward the upstream (one function, not a closure per frame):
   * the drained signal the gateway's flow control waits for.
   */
  protected readonly onWritten = (): void => {
    if (!this.closedByGateway) this.handlers.onDrain?.();
  };

  /** Ends the session from the provider side: reported once (a refusal if not ready yet). */
  protected fail(end: UpstreamEnd): void {
    if (this.isClosed) return;
    this.ended = true;
    if (!this.isReady) {
      this.settleReady(new UpstreamConnectError(end.message));
    } else {
      // What was produced before the end still reaches the client, ahead of the end itself.
      const held = this.held;
      this.held = [];
      for (const event of held) this.handlers.onEvent(event);
      this.handlers.onEnd(end);
    }
    this.releaseTransport();
  }

  /** A provider message that could not be read ends the session. */
  protected failUnreadable(err: unknown): void {
    this.fail({ code: ErrorCode.UpstreamError, message: `Unreadable upstream message: ${(err as Error)?.message}`, closeCode: CloseCode.Internal });
  }

  private flushHeld(): void {
    // A handler may pause or close again mid-flush; re-check before every delivery.
    while (!this.paused && !this.isClosed && this.held.length > 0) this.handlers.onEvent(this.held.shift()!);
  }
}
