// The life of one client connection, as one state machine (docs/protocol.md §3):
//   awaiting_start → connecting → active → closing → closed
// It prepares the config (session-config/, overlay included), opens the upstream through the
// provider interface, relays normalized events both ways (backpressure in flow-control.ts), and ends
// every path with `session.terminating` and a close code. Who the client is was decided before the
// 101 (ticket-admission.ts); nothing here knows which provider is behind the UpstreamSession.
import type { Logger } from '@nestjs/common';
import WebSocket from 'ws';
import type { Clock } from '../common/clock.js';
import type { SessionLimits } from '../common/module-settings.js';
import { CloseCode } from '../errors/close-codes.js';
import { ErrorCode, type ErrorBody } from '../errors/error-codes.js';
import type { RealtimeApiError } from '../errors/realtime-api.error.js';
import type { RealtimeMetrics } from '../metrics/realtime-metrics.js';
import type { ProviderRegistry } from '../providers/provider-registry.js';
import type { RealtimeProvider, ServerEvent, UpstreamHandlers } from '../providers/realtime-provider.js';
import { prepareSessionConfig, type ModelCheckContext, type PreparedConfig } from '../session-config/config-preparation.js';
import type { ModelDefinition } from '../session-config/model-catalogue.js';
import type { SessionConfig } from '../session-config/session-config.js';
import { isBase64Text } from '../providers/core/pcm16.js';
import { audioOfAppendFrame, parseClientFrame } from './client-events.js';
import { FlowControl } from './flow-control.js';
import { ResumeBuffer } from './session-resume.js';
import type { SessionStartedEvent } from './session-events.js';
import { startedEventOf, type CarriedSession } from './session-handover.js';
import type { SessionReporter } from './session-reporting.js';
import type { Admission } from './ticket-admission.js';
import { continueRotatingUpstream, openRotatingUpstream, type RotatingUpstreamSession, type RotationSettings } from './upstream-rotation.js';
import { addUsage } from './usage-total.js';

type State = 'awaiting_start' | 'connecting' | 'active' | 'closing' | 'closed';

export interface RealtimeSessionDeps {
  limits: SessionLimits;
  /** The catalogue and "is a provider configured", as minting checks them. */
  models: ModelCheckContext;
  providers: ProviderRegistry;
  logger: Logger;
  clock: Clock;
  /** The per-frame relay counters (a no-op instance when metrics are off). */
  metrics: RealtimeMetrics;
  /** Everything else the outside learns: metrics, the events hook, the session-end line. */
  reporter: SessionReporter;
  /** Called once when the client socket has closed and everything is released. */
  onClosed(session: RealtimeSession): void;
  /** Called once when the session has started (`session.started` sent). */
  onStarted?(session: RealtimeSession, event: SessionStartedEvent): void;
  /** Client resume (session-resume.ts); absent when `limits.resumeGraceSeconds` is 0. */
  resume?: {
    /** A new single-use token for this session (the previous one stops working). */
    issueToken(session: RealtimeSession): string;
  };
}

/** How long a closing socket may take to finish the close handshake before it is destroyed. */
const CLOSE_GRACE_MS = 2000;

export class RealtimeSession {
  /** The admission's id: the same in the slot lease, `session.started`, the events hook and logs. */
  readonly id: string;
  private state: State = 'awaiting_start';
  private openedAt: number;
  private lastClientFrameAt: number;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private flow: FlowControl;
  /** Set while the client socket is gone and the session waits for a resume (session-resume.ts). */
  private detached: ResumeBuffer | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private upstream: RotatingUpstreamSession | undefined;
  /** Given up to another instance (client resume there): this instance reports no end for it. */
  private movedAway = false;
  private connectAbort: AbortController | undefined;
  private config: SessionConfig = {};
  private model: ModelDefinition | undefined;
  private started: SessionStartedEvent | undefined;
  /** When the upstream open began (the clock's ms), for the connect-latency histogram. */
  private connectStartedAt = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private usage: Record<string, unknown> | undefined;
  private endReason = 'client_closed';
  private closeCode: number = CloseCode.Normal;

  constructor(
    private ws: WebSocket,
    private readonly admission: Admission,
    private readonly deps: RealtimeSessionDeps,
  ) {
    this.id = admission.sessionId;
    this.openedAt = this.lastClientFrameAt = deps.clock.now();
    this.flow = this.bindClient(ws);
    this.armDeadline();
  }

  get currentState(): State {
    return this.state;
  }

  get projectId(): string {
    return this.admission.projectId;
  }

  /** True once the session was handed over to another instance (`handOver`). */
  get handedOver(): boolean {
    return this.movedAway;
  }

  /** What the session-started event said (project, model, provider, ticket id, metadata…), once started. */
  get startedEvent(): SessionStartedEvent | undefined {
    return this.started;
  }

  /** Ends the session from outside (limits, shutdown): terminating event, then close. */
  end(code: string, message: string, closeCode: number): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.endReason = code;
    this.closeCode = closeCode;
    this.releaseUpstream();
    this.clearTimers();
    // No socket to tell: the session is over now.
    if (this.detached) return this.finish();
    if (this.ws.readyState === WebSocket.OPEN) {
      this.sendJson({ type: 'session.terminating', error: { code, message } });
      this.ws.close(closeCode);
    }
    // A peer that never answers the close frame (or cannot read it) is cut off.
    this.closeTimer = this.deps.clock.setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
  }

  // ── client → gateway ────────────────────────────────────────────────────────────────────────

  private onClientFrame(data: Buffer, isBinary: boolean): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.lastClientFrameAt = this.deps.clock.now();
    this.bytesIn += data.length;
    this.deps.metrics.relayed('client_to_upstream', data.length);
    if (data.length > this.deps.limits.maxFrameBytes) {
      return this.end(ErrorCode.FrameTooBig, `Frame of ${data.length} bytes exceeds the limit of ${this.deps.limits.maxFrameBytes}`, CloseCode.TooBig);
    }
    if (isBinary && this.state !== 'awaiting_start') {
      return this.sendError(ErrorCode.InvalidEvent, 'Binary frames are not supported: send JSON text frames');
    }
    if (this.state === 'active' && !isBinary) {
      // Hot path (50 frames a second per session): a canonical audio.append skips JSON.parse.
      const audio = audioOfAppendFrame(data);
      if (audio !== undefined) {
        this.upstream!.send({ type: 'audio.append', audio });
        this.flow.afterUpstreamSend();
        return;
      }
    }
    const frame = parseClientFrame(data.toString('utf8'));

    if (this.state === 'awaiting_start') {
      // docs/protocol.md §3.1: anything but a session.start text frame first (a binary frame included)
      // ends the socket.
      if (frame.kind === 'start' && !isBinary) return this.start(frame.config);
      this.sendError(ErrorCode.SessionNotStarted, 'The first frame must be session.start');
      return this.end(ErrorCode.SessionNotStarted, 'The first frame must be session.start', CloseCode.Policy);
    }
    if (frame.kind === 'invalid') return this.sendError(frame.code, frame.message);
    if (frame.kind === 'start') return this.sendError(ErrorCode.SessionAlreadyStarted, 'session.start was already received');
    if (this.state === 'connecting') {
      return this.sendError(ErrorCode.SessionNotReady, 'Wait for session.started before sending events');
    }
    if (frame.kind === 'update') return this.update(frame.config);
    this.upstream!.send(frame.event);
    this.flow.afterUpstreamSend();
  }

  private start(requested: Record<string, unknown>): void {
    const prepared = this.prepareConfig(requested, requested);
    if (!prepared) return;
    const { config, model } = prepared;
    // prepareSessionConfig checked that a provider is configured for the model.
    const provider = this.deps.providers.forModel(model.id)!;
    this.config = config;
    this.model = model;
    this.state = 'connecting';
    this.connectAbort = new AbortController();
    this.connectStartedAt = this.deps.clock.now();
    openRotatingUpstream(
      provider,
      { sessionId: this.id, projectId: this.admission.projectId, config, model, signal: this.connectAbort.signal, handlers: this.upstreamHandlers(provider) },
      this.rotationSettings(),
    ).then(
      (upstream) => this.onUpstreamOpen(upstream, provider.name),
      (err: Error) => {
        if (this.state !== 'connecting') return;
        this.deps.logger.warn(`Session ${this.id}: upstream ${provider.name} failed to open: ${err?.message}`);
        this.deps.reporter.connectFailed(provider.name, ErrorCode.UpstreamUnavailable);
        this.end(ErrorCode.UpstreamUnavailable, err?.message || 'The upstream could not be reached', CloseCode.Internal);
      },
    );
  }

  private upstreamHandlers(provider: RealtimeProvider): UpstreamHandlers {
    return {
      onEvent: (event) => this.onUpstreamEvent(event),
      onEnd: (end) => {
        // An upstream that ends before it was ready failed to connect.
        if (this.state === 'connecting') this.deps.reporter.connectFailed(provider.name, end.code);
        this.end(end.code, end.message, end.closeCode);
      },
      // Through `this.flow`: a resumed client gets a new FlowControl.
      onDrain: () => this.flow.onUpstreamDrained(),
    };
  }

  private rotationSettings(): RotationSettings {
    return { clock: this.deps.clock, logger: this.deps.logger, marginSeconds: this.deps.limits.rotationMarginSeconds };
  }

  private onUpstreamOpen(upstream: RotatingUpstreamSession, providerName: string): void {
    this.connectAbort = undefined;
    if (this.state !== 'connecting') {
      upstream.close();
      return;
    }
    this.upstream = this.flow.upstream = upstream;
    this.state = 'active';
    const now = this.deps.clock.now();
    const resumeToken = this.deps.resume?.issueToken(this);
    this.sendJson({
      type: 'session.started',
      session_id: this.id,
      input_sample_rate: upstream.inputSampleRate,
      output_sample_rate: upstream.outputSampleRate,
      audio_format: 'pcm16',
      // Additive (docs/protocol.md §5): `opper-resume.<resume_token>` re-attaches after a drop.
      ...(resumeToken ? { resume_token: resumeToken } : {}),
    });
    this.started = {
      sessionId: this.id,
      projectId: this.admission.projectId,
      keyId: this.admission.keyId,
      model: this.model!.id,
      provider: providerName,
      credential: this.admission.credential,
      startedAt: new Date(now),
      // Backend attribution travels to the hook (and the session-end log) only: never to the
      // provider (open() gets the config alone) nor to the browser.
      ...(this.admission.ticket?.publicId ? { ticketId: this.admission.ticket.publicId } : {}),
      ...(this.admission.ticket?.metadata ? { metadata: this.admission.ticket.metadata } : {}),
    };
    this.deps.reporter.started(this.started, (now - this.connectStartedAt) / 1000);
    this.deps.onStarted?.(this, this.started);
  }

  private update(partial: Record<string, unknown>): void {
    const merged = { ...this.config, ...partial } as Record<string, unknown>;
    const prepared = this.prepareConfig(partial, merged, this.config);
    if (!prepared) return;
    if (prepared.model.id !== this.model!.id) {
      return this.sendError(ErrorCode.InvalidField, 'config.model cannot change during a session');
    }
    const changed = Object.keys({ ...this.config, ...prepared.config }).filter(
      (f) => JSON.stringify((this.config as Record<string, unknown>)[f]) !== JSON.stringify((prepared.config as Record<string, unknown>)[f]),
    );
    this.config = prepared.config;
    if (changed.length) this.upstream!.send({ type: 'session.update', config: this.config, changed });
  }

  /**
   * The effective config of a start or update (session-config/, the same rules minting applies).
   * Sends the `field_locked` and refusal error events itself; undefined when the config is refused.
   */
  private prepareConfig(
    sent: Record<string, unknown>,
    requested: Record<string, unknown>,
    current?: SessionConfig,
  ): Extract<PreparedConfig, { ok: true }> | undefined {
    const prepared = prepareSessionConfig({ sent, requested, binding: this.admission.ticket, current }, this.deps.models);
    for (const field of prepared.overridden) {
      this.deps.reporter.fieldLocked(field);
      this.sendError(ErrorCode.FieldLocked, `config.${field} is set by the server and cannot be changed`);
    }
    if (prepared.ok) return prepared;
    this.sendRefusal(prepared.error);
    return undefined;
  }

  private sendRefusal(err: RealtimeApiError): void {
    // HttpException's own `message` is the class name ("Realtime Api Error") when its response is
    // an object: the human text lives in the error body.
    this.sendError(err.code, (err.getResponse() as ErrorBody).error.message);
  }

  // ── upstream → client ───────────────────────────────────────────────────────────────────────

  private onUpstreamEvent(event: ServerEvent): void {
    if (this.state !== 'active' && this.state !== 'connecting') return;
    if (event.type === 'usage') this.usage = addUsage(this.usage, event.usage);
    if (event.type === 'audio.delta' && isBase64Text(event.audio)) {
      // Hot path: base64 needs no escaping, so concatenation gives JSON.stringify's bytes (ASCII,
      // one byte per character) without its scan of the audio.
      const text = '{"type":"audio.delta","audio":"' + event.audio + '"}';
      return this.sendText(text, text.length);
    }
    this.sendJson(event);
  }

  private sendError(code: string, message: string): void {
    this.sendJson({ type: 'error', error: { code, message } });
  }

  private sendJson(event: object): void {
    if (!this.detached && this.ws.readyState !== WebSocket.OPEN) return;
    const data = JSON.stringify(event);
    this.sendText(data, Buffer.byteLength(data));
  }

  private sendText(data: string, byteLength: number): void {
    if (this.detached) {
      if (!this.detached.push(data, byteLength)) {
        this.end(ErrorCode.ResumeBufferOverflow, `More than ${this.deps.limits.resumeBufferBytes} bytes of events waited for a resume`, CloseCode.Policy);
      }
      return;
    }
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.bytesOut += byteLength;
    this.deps.metrics.relayed('upstream_to_client', byteLength);
    this.ws.send(data, this.flow.clientSendCallback(byteLength));
    this.flow.afterClientSend();
  }

  private onSlowConsumer(side: 'client' | 'upstream'): void {
    this.deps.reporter.slowConsumer(side);
    this.end(ErrorCode.SlowConsumer, `The ${side} did not keep up with the stream`, CloseCode.Policy);
    // Its buffer is full, so the close handshake cannot complete: cut it now.
    if (side === 'client') this.ws.terminate();
  }

  // ── timers: start timeout, idle timeout, max duration ───────────────────────────────────────

  /** One timer per session, re-armed at the nearest deadline (no per-frame timer churn). */
  private armDeadline(): void {
    const { startTimeoutSeconds, idleTimeoutSeconds, maxSessionSeconds } = this.deps.limits;
    const now = this.deps.clock.now();
    const startDeadline = this.state === 'awaiting_start' ? this.openedAt + startTimeoutSeconds * 1000 : Infinity;
    const idleDeadline = this.lastClientFrameAt + idleTimeoutSeconds * 1000;
    const maxDeadline = this.openedAt + maxSessionSeconds * 1000;
    const next = Math.min(startDeadline, idleDeadline, maxDeadline);
    this.deadlineTimer = this.deps.clock.setTimeout(() => this.onDeadline(), Math.max(0, next - now));
  }

  private onDeadline(): void {
    this.deadlineTimer = undefined;
    if (this.state === 'closing' || this.state === 'closed') return;
    const { startTimeoutSeconds, idleTimeoutSeconds, maxSessionSeconds } = this.deps.limits;
    const now = this.deps.clock.now();
    if (this.state === 'awaiting_start' && now >= this.openedAt + startTimeoutSeconds * 1000) {
      this.sendError(ErrorCode.SessionNotStarted, `No session.start within ${startTimeoutSeconds} s`);
      return this.end(ErrorCode.SessionNotStarted, `No session.start within ${startTimeoutSeconds} s`, CloseCode.Policy);
    }
    if (now >= this.openedAt + maxSessionSeconds * 1000) {
      return this.end(ErrorCode.MaxDurationReached, `The session reached its maximum duration of ${maxSessionSeconds} s`, CloseCode.Normal);
    }
    if (now >= this.lastClientFrameAt + idleTimeoutSeconds * 1000) {
      return this.end(ErrorCode.IdleTimeout, `No client frame for ${idleTimeoutSeconds} s`, CloseCode.Normal);
    }
    this.armDeadline();
  }

  // ── endings ─────────────────────────────────────────────────────────────────────────────────

  private onClientError(err: Error & { code?: string }): void {
    // ws has already started closing the socket (e.g. an oversized frame → 1009).
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      this.endReason = ErrorCode.FrameTooBig;
    }
    this.deps.logger.debug?.(`Session ${this.id}: client socket error: ${err.message}`);
  }

  private onClientClosed(code: number): void {
    if (this.state === 'closed' || this.detached) return;
    if (this.state !== 'closing') this.closeCode = code;
    // A drop (not a close 1000 by the client, nor one the gateway started) of a live session:
    // it waits for a resume for the grace window.
    if (this.state === 'active' && code !== CloseCode.Normal && this.deps.resume) return this.detach();
    this.finish();
  }

  // ── client resume (session-resume.ts) ───────────────────────────────────────────────────────

  private bindClient(ws: WebSocket): FlowControl {
    ws.on('message', (data, isBinary) => {
      if (ws === this.ws) this.onClientFrame(data as Buffer, isBinary);
    });
    ws.on('close', (code) => {
      if (ws === this.ws) this.onClientClosed(code);
    });
    ws.on('error', (err) => {
      if (ws === this.ws) this.onClientError(err);
    });
    const flow = new FlowControl(ws, this.deps.limits, this.deps.clock, (side) => this.onSlowConsumer(side));
    flow.upstream = this.upstream;
    return flow;
  }

  private detach(): void {
    this.detached = new ResumeBuffer(this.deps.limits.resumeBufferBytes);
    // The buffer is the client now: whatever flow control had paused flows into it (bounded).
    this.flow.stop();
    this.flow.upstream = undefined;
    this.upstream?.resume();
    this.graceTimer = this.deps.clock.setTimeout(() => this.onGraceOver(), this.deps.limits.resumeGraceSeconds * 1000);
    this.deps.logger.debug?.(`Session ${this.id}: client dropped (${this.closeCode}); waiting ${this.deps.limits.resumeGraceSeconds} s for a resume`);
  }

  private onGraceOver(): void {
    this.graceTimer = undefined;
    if (!this.detached || this.state !== 'active') return;
    this.state = 'closing';
    this.releaseUpstream();
    this.clearTimers();
    this.finish();
  }

  /**
   * Re-attaches a resumed client socket (its token already spent): `session.resumed` with a new
   * token, then every event buffered during the gap, in order, once. A client whose old socket
   * the gateway still thinks open takes over from it.
   */
  resumeWith(ws: WebSocket): void {
    if (this.state !== 'active') {
      ws.close(CloseCode.Normal);
      return;
    }
    const previous = this.ws;
    const buffered = this.detached?.drain() ?? [];
    this.detached = undefined;
    this.deps.clock.clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.flow.stop();
    this.upstream?.resume();
    this.ws = ws;
    if (previous !== ws) previous.terminate();
    this.flow = this.bindClient(ws);
    this.lastClientFrameAt = this.deps.clock.now();
    this.sendJson({ type: 'session.resumed', session_id: this.id, resume_token: this.deps.resume!.issueToken(this) });
    for (const event of buffered) this.sendText(event.data, event.bytes);
  }

  /**
   * Gives the session up to the instance a resume landed on (session-handover.ts): closes the
   * upstream, takes the events buffered for the client, cuts a socket the gateway still thought
   * open, and leaves without a session-ended hook call or end line (the new instance reports the
   * end). Undefined when the session is not live.
   */
  handOver(): CarriedSession | undefined {
    if (this.state !== 'active' || !this.started || !this.upstream) return undefined;
    const carry = this.upstream.handOver();
    this.upstream = this.flow.upstream = undefined;
    const buffered = this.detached?.drain().map((event) => event.data) ?? [];
    const started = this.started;
    this.movedAway = true;
    this.state = 'closed';
    if (!this.detached) this.ws.terminate();
    this.detached = undefined;
    this.deps.clock.clearTimeout(this.graceTimer);
    this.clearTimers();
    this.deps.reporter.handedOver(started);
    this.deps.onClosed(this);
    return {
      version: 1,
      ...carry,
      sessionId: this.id,
      projectId: started.projectId,
      keyId: started.keyId,
      credential: started.credential,
      ...(this.admission.ticket ? { ticket: this.admission.ticket } : {}),
      ...(this.admission.requestId ? { requestId: this.admission.requestId } : {}),
      model: started.model,
      provider: started.provider,
      openedAt: this.openedAt,
      startedAt: started.startedAt.getTime(),
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      ...(this.usage ? { usage: this.usage } : {}),
      buffered,
    };
  }

  /**
   * Takes over a session handed over by another instance, on this (resumed) socket: opens a fresh
   * upstream with the carried config and conversation, then sends `session.resumed` with a new
   * token and every event buffered for the client, in order. The session-started hook is not
   * called again; the session-ended one is called here, once, when it ends.
   */
  continueFrom(carried: CarriedSession): void {
    if (this.state !== 'awaiting_start') return;
    const model = this.deps.models.catalogue.get(carried.model);
    const provider = model ? this.deps.providers.forModel(model.id) : undefined;
    this.openedAt = carried.openedAt;
    this.bytesIn = carried.bytesIn;
    this.bytesOut = carried.bytesOut;
    this.usage = carried.usage;
    this.started = startedEventOf(carried);
    this.deps.clock.clearTimeout(this.deadlineTimer);
    this.armDeadline();
    if (!model || !provider) {
      // Instances configured differently: this one cannot run the model.
      this.state = 'active';
      return this.end(ErrorCode.UpstreamUnavailable, `This instance has no provider for ${carried.model}`, CloseCode.Internal);
    }
    this.model = model;
    this.config = carried.config;
    this.state = 'active';
    this.deps.reporter.adopted(this.started);
    this.upstream = this.flow.upstream = continueRotatingUpstream(
      provider,
      // The rotating upstream aborts its own connection attempt when the session closes it.
      { sessionId: this.id, projectId: carried.projectId, config: carried.config, model, handlers: this.upstreamHandlers(provider), signal: new AbortController().signal },
      this.rotationSettings(),
      carried,
    );
    const token = this.deps.resume?.issueToken(this);
    this.sendJson({ type: 'session.resumed', session_id: this.id, ...(token ? { resume_token: token } : {}) });
    for (const data of carried.buffered) {
      if (this.state !== 'active') return;
      this.sendText(data, Buffer.byteLength(data));
    }
    this.deps.onStarted?.(this, this.started);
  }

  /** Last steps of every ending: the hook (once), then the registry. */
  private finish(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.detached = undefined;
    this.deps.clock.clearTimeout(this.graceTimer);
    this.releaseUpstream();
    this.clearTimers();
    this.deps.clock.clearTimeout(this.closeTimer);
    this.deps.reporter.ended({
      started: this.started,
      requestId: this.admission.requestId,
      sessionId: this.id,
      projectId: this.admission.projectId,
      keyId: this.admission.keyId,
      openedAt: this.openedAt,
      endedAt: this.deps.clock.now(),
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      endReason: this.endReason,
      closeCode: this.closeCode,
      usage: this.usage,
    });
    this.deps.onClosed(this);
  }

  private releaseUpstream(): void {
    this.connectAbort?.abort();
    this.connectAbort = undefined;
    const upstream = this.upstream;
    this.upstream = this.flow.upstream = undefined;
    upstream?.close();
  }

  private clearTimers(): void {
    this.deps.clock.clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.flow.stop();
  }

}
