// Upstream rotation (issue 14): a call outlives the provider's session limit. The session talks to
// one RotatingUpstream for its whole life; underneath, the physical upstream is replaced by a fresh
// one before the model's `sessionLimitSeconds` is reached (minus `limits.rotationMarginSeconds`)
// and when the provider announces its end (Gemini `goAway`). The client sees no close, only the
// informational `session.rotated` (docs/protocol.md §5).
//
// - Same effective config: the fresh upstream is opened with the config in force (the ticket's
//   bound fields and every accepted `session.update` included), so the overlay is never lost.
// - The conversation carries over: with the provider's own resumption handle where it offers one
//   (Gemini), else as text history (user texts and transcripts, the model's text/transcripts) given
//   to `restoreHistory` (OpenAI, xAI: conversation items).
// - At a turn boundary: a rotation waits for the active response's `response.completed`, at most
//   TURN_WAIT_MS; past that the response is closed for the client with `response.completed`.
// - While the fresh upstream connects, client events are queued in order (at most
//   MAX_QUEUED_BYTES, else refused with an `error`), events of the old one still flow; at the switch
//   the old one is closed and whatever it sends later is dropped.
// - A rotation that cannot open ends the session with `upstream_unavailable`, as at the start.
// - Hand-over (client resume across instances, session-handover.ts): `handOver()` closes the
//   upstream and returns what a fresh one needs; `continueRotatingUpstream` on the other instance
//   opens that fresh one, queuing client events meanwhile as a rotation does.
import type { Logger } from '@nestjs/common';
import type { Clock } from '../common/clock.js';
import { CloseCode } from '../errors/close-codes.js';
import { ErrorCode } from '../errors/error-codes.js';
import type {
  ClientEvent,
  ConversationTurn,
  OpenUpstreamParams,
  RealtimeProvider,
  ServerEvent,
  UpstreamHandlers,
  UpstreamSession,
} from '../providers/realtime-provider.js';
import type { SessionConfig } from '../session-config/session-config.js';
import type { UpstreamCarry } from './session-handover.js';

export const DEFAULT_ROTATION_MARGIN_SECONDS = 60;
/** Longest wait for an active response to complete before a due rotation goes ahead. */
export const TURN_WAIT_MS = 10_000;
/** Client events held while the fresh upstream connects (JSON bytes), at most. */
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** The text history carried over: the latest turns, at most this many and this many characters. */
export const MAX_HISTORY_TURNS = 64;
export const MAX_HISTORY_CHARS = 32_000;

export type RotationReason = 'session_limit' | 'provider_going_away';
/** Why a fresh upstream is opened: a rotation, or a session handed over from another instance. */
type SwitchReason = RotationReason | 'handed_over';

export interface RotationSettings {
  clock: Clock;
  logger: Logger;
  /** Rotate this long before the model's session limit (at the latest halfway through it). */
  marginSeconds: number;
}

/** The session's upstream for its whole life, across rotations (and across instances: `handOver`). */
export interface RotatingUpstreamSession extends UpstreamSession {
  /** Closes the upstream and returns what a fresh one needs to carry the conversation on. */
  handOver(): UpstreamCarry;
}

/**
 * Opens the session's upstream through `provider` and keeps it alive across the provider's limits.
 * Resolves or rejects as `provider.open` does for the first connection.
 */
export async function openRotatingUpstream(provider: RealtimeProvider, params: OpenUpstreamParams, settings: RotationSettings): Promise<RotatingUpstreamSession> {
  const rotating = new RotatingUpstream(provider, params, settings);
  await rotating.openFirst();
  return rotating;
}

/**
 * A session handed over from another instance: returns at once, opens a fresh upstream with the
 * carried config, resumption handle or history, and queues client events until it is open. A
 * failure to open ends the session through `onEnd` with `upstream_unavailable`.
 */
export function continueRotatingUpstream(
  provider: RealtimeProvider,
  params: OpenUpstreamParams,
  settings: RotationSettings,
  carry: UpstreamCarry,
): RotatingUpstreamSession {
  const rotating = new RotatingUpstream(provider, { ...params, config: carry.config }, settings);
  rotating.continueFrom(carry);
  return rotating;
}

/** When a connection opened at `openedAt` should be replaced; undefined for a model without a limit. */
export function rotationDueAt(openedAt: number, sessionLimitSeconds: number | undefined, marginSeconds: number): number | undefined {
  if (!sessionLimitSeconds || sessionLimitSeconds <= 0) return undefined;
  // A margin as long as the limit itself would rotate in a loop: rotate halfway at the earliest.
  const after = Math.max(sessionLimitSeconds / 2, sessionLimitSeconds - marginSeconds);
  return openedAt + after * 1000;
}

class RotatingUpstream implements RotatingUpstreamSession {
  /** Undefined only while a handed-over session's first connection opens. */
  private current: UpstreamSession | undefined;
  /** The connection whose events reach the client; events of any other are dropped. */
  private generation = 0;
  private config: SessionConfig;
  private readonly history: ConversationTurn[] = [];
  private historyChars = 0;
  private replyText = '';
  private responseActive = false;
  private pendingReason: RotationReason | undefined;
  private switching = false;
  private queue: ClientEvent[] = [];
  private queuedBytes = 0;
  private paused = false;
  private closed = false;
  private dueTimer: NodeJS.Timeout | undefined;
  private turnTimer: NodeJS.Timeout | undefined;
  private connecting: AbortController | undefined;
  private readonly outer: UpstreamHandlers;

  constructor(
    private readonly provider: RealtimeProvider,
    private readonly params: OpenUpstreamParams,
    private readonly settings: RotationSettings,
  ) {
    this.outer = params.handlers;
    this.config = params.config;
  }

  get inputSampleRate(): number {
    return this.current?.inputSampleRate ?? this.params.model.inputSampleRate ?? 24000;
  }

  get outputSampleRate(): number {
    return this.current?.outputSampleRate ?? this.params.model.outputSampleRate ?? 24000;
  }

  get bufferedAmount(): number {
    return this.current?.bufferedAmount ?? 0;
  }

  async openFirst(): Promise<void> {
    this.current = await this.provider.open({ ...this.params, handlers: this.handlersFor(0) });
    this.armDue();
  }

  continueFrom(carry: UpstreamCarry): void {
    for (const turn of carry.history) this.remember(turn);
    // A response the old instance's upstream was giving ends for the client at the switch.
    this.responseActive = carry.responseActive;
    this.switching = true;
    this.openNext(0, 'handed_over', carry.resumptionHandle);
  }

  handOver(): UpstreamCarry {
    const history = this.replyText ? [...this.history, { role: 'assistant' as const, text: this.replyText }] : [...this.history];
    const handle = this.current?.resumptionHandle;
    const carry: UpstreamCarry = { config: this.config, history, responseActive: this.responseActive, ...(handle ? { resumptionHandle: handle } : {}) };
    this.close();
    return carry;
  }

  // ── client → upstream ───────────────────────────────────────────────────────────────────────

  send(event: ClientEvent): void {
    if (this.closed) return;
    if (event.type === 'session.update') this.config = event.config;
    if (event.type === 'text.input' && event.text) this.remember({ role: 'user', text: event.text });
    if (!this.switching) return this.current!.send(event);
    const bytes = event.type === 'audio.append' ? event.audio.length : JSON.stringify(event).length;
    if (this.queuedBytes + bytes > MAX_QUEUED_BYTES) {
      return this.outer.onEvent({
        type: 'error',
        error: { code: ErrorCode.SessionNotReady, message: `The upstream is being rotated and ${MAX_QUEUED_BYTES} bytes are already waiting: ${event.type} was not delivered` },
      });
    }
    this.queuedBytes += bytes;
    this.queue.push(event);
  }

  pause(): void {
    this.paused = true;
    this.current?.pause();
  }

  resume(): void {
    this.paused = false;
    this.current?.resume();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.settings.clock.clearTimeout(this.dueTimer);
    this.settings.clock.clearTimeout(this.turnTimer);
    this.connecting?.abort();
    this.queue = [];
    this.current?.close();
  }

  // ── upstream → client ───────────────────────────────────────────────────────────────────────

  private handlersFor(generation: number): UpstreamHandlers {
    return {
      onEvent: (event) => {
        if (this.closed || generation !== this.generation) return;
        this.observe(event);
        this.outer.onEvent(event);
      },
      onEnd: (end) => {
        if (this.closed || generation !== this.generation) return;
        // The switch is under way (its replacement is connecting), or was due: the end was expected.
        if (this.switching) return;
        if (this.pendingReason) return this.startSwitch();
        this.outer.onEnd(end);
      },
      onDrain: () => {
        if (generation === this.generation) this.outer.onDrain?.();
      },
      onGoingAway: () => {
        if (generation === this.generation) this.request('provider_going_away');
      },
    };
  }

  /** Keeps what a rotation needs: whether a response is active, and the conversation as text. */
  private observe(event: ServerEvent): void {
    switch (event.type) {
      case 'response.started':
        this.responseActive = true;
        this.replyText = '';
        return;
      case 'text.delta':
        if (this.replyText.length < MAX_HISTORY_CHARS) this.replyText += event.delta;
        return;
      case 'transcript.committed':
        if (event.transcript) this.remember({ role: 'user', text: event.transcript });
        return;
      case 'response.completed':
        this.endReply();
        if (this.pendingReason && !this.switching) this.startSwitch();
        return;
      default:
        return;
    }
  }

  private endReply(): void {
    this.responseActive = false;
    if (this.replyText) this.remember({ role: 'assistant', text: this.replyText });
    this.replyText = '';
  }

  private remember(turn: ConversationTurn): void {
    this.history.push(turn);
    this.historyChars += turn.text.length;
    while (this.history.length > MAX_HISTORY_TURNS || (this.historyChars > MAX_HISTORY_CHARS && this.history.length > 1)) {
      this.historyChars -= this.history.shift()!.text.length;
    }
  }

  // ── the rotation ────────────────────────────────────────────────────────────────────────────

  private armDue(): void {
    const { clock, marginSeconds } = this.settings;
    const dueAt = rotationDueAt(clock.now(), this.params.model.sessionLimitSeconds, marginSeconds);
    if (dueAt === undefined) return;
    this.dueTimer = clock.setTimeout(() => this.request('session_limit'), Math.max(0, dueAt - clock.now()));
  }

  /** A rotation is due: now if no response is active, else at its end (at most TURN_WAIT_MS later). */
  private request(reason: RotationReason): void {
    if (this.closed || this.switching || this.pendingReason) return;
    this.pendingReason = reason;
    this.settings.clock.clearTimeout(this.dueTimer);
    if (!this.responseActive) return this.startSwitch();
    this.turnTimer = this.settings.clock.setTimeout(() => this.startSwitch(), TURN_WAIT_MS);
  }

  private startSwitch(): void {
    if (this.closed || this.switching) return;
    this.settings.clock.clearTimeout(this.turnTimer);
    this.switching = true;
    this.openNext(this.generation + 1, this.pendingReason ?? 'session_limit', this.current?.resumptionHandle);
  }

  private openNext(generation: number, reason: SwitchReason, handle: string | undefined): void {
    // The session closing us (the client left) aborts the connection in progress (close()).
    this.connecting = new AbortController();
    this.provider
      .open({
        ...this.params,
        config: this.config,
        handlers: this.handlersFor(generation),
        signal: this.connecting.signal,
        ...(handle ? { resumptionHandle: handle } : {}),
      })
      .then(
        (fresh) => this.switchTo(fresh, generation, reason, handle !== undefined),
        (err: Error) => {
          if (this.closed) return;
          this.settings.logger.warn(`Session ${this.params.sessionId}: upstream rotation (${reason}) failed: ${err?.message}`);
          this.outer.onEnd({
            code: ErrorCode.UpstreamUnavailable,
            message: `The upstream could not be renewed: ${err?.message || 'unreachable'}`,
            closeCode: CloseCode.Internal,
          });
        },
      );
  }

  private switchTo(fresh: UpstreamSession, generation: number, reason: SwitchReason, resumed: boolean): void {
    this.connecting = undefined;
    if (this.closed) return fresh.close();
    const old = this.current;
    this.current = fresh;
    this.generation = generation;
    old?.close();
    // A response cut by the switch (it outlasted TURN_WAIT_MS) still ends for the client.
    if (this.responseActive) {
      this.endReply();
      this.outer.onEvent({ type: 'response.completed' });
    }
    if (!resumed && this.history.length) fresh.restoreHistory?.(this.history);
    if (this.paused) fresh.pause();
    this.switching = false;
    this.pendingReason = undefined;
    this.settings.logger.log?.(`Session ${this.params.sessionId}: upstream ${reason === 'handed_over' ? 'opened for a handed-over session' : `rotated (${reason})`}`);
    // The client of a handed-over session was told by `session.resumed`.
    if (reason !== 'handed_over') this.outer.onEvent({ type: 'session.rotated', reason });
    const queued = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const event of queued) fresh.send(event);
    this.armDue();
  }
}
