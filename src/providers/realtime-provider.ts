// The one interface between the gateway and an upstream model. The gateway validates, overlays and
// relays; a provider only translates normalized events to its wire protocol and back. Nothing
// provider-specific lives outside `providers/<name>/`.
import type { CloseCode } from '../errors/close-codes.js';
import type { ModelDefinition } from '../session-config/model-catalogue.js';
import type { SessionConfig } from '../session-config/session-config.js';
import type { UpstreamSocketSource } from './core/upstream-target.js';

/** Client → upstream events, already validated by the gateway (docs/protocol.md §5). */
export type ClientEvent =
  | { type: 'audio.append'; audio: string }
  | { type: 'audio.commit' }
  | { type: 'audio.clear' }
  | { type: 'text.input'; text: string }
  | { type: 'image.input'; image_url: string; image_detail?: string; text?: string }
  | { type: 'response.create' }
  | { type: 'response.cancel' }
  | { type: 'tool.result'; tool_call_id: string; tool_result: unknown }
  /** The whole effective config after merge and overlay; `changed` lists the fields that differ. */
  | { type: 'session.update'; config: SessionConfig; changed: string[] };

/** Upstream → client events (docs/protocol.md §5), minus the lifecycle ones the gateway owns. */
export type ServerEvent =
  | { type: 'audio.delta'; audio: string }
  | { type: 'text.delta'; delta: string }
  | { type: 'transcript.committed'; transcript: string }
  | { type: 'speech.started' }
  | { type: 'speech.stopped' }
  | { type: 'response.started' }
  | { type: 'response.completed' }
  | { type: 'tool.call'; tool_call_id: string; tool_name: string; tool_arguments: string }
  | { type: 'error'; error: { code: string; message: string } }
  | { type: 'usage'; usage: Record<string, unknown> }
  /** Emitted by the gateway's upstream rotation (gateway/upstream-rotation.ts), never by an adapter. */
  | { type: 'session.rotated'; reason: 'session_limit' | 'provider_going_away' };

/**
 * One turn of the conversation as text (a user's words, a transcript of their speech, or the
 * model's reply): what a fresh upstream is given to carry a conversation over when the provider
 * has no resumption of its own (gateway/upstream-rotation.ts).
 */
export interface ConversationTurn {
  role: 'user' | 'assistant';
  text: string;
}

/** Why an upstream session ended on its own (not by `close()` from the gateway). */
export interface UpstreamEnd {
  /** `error.code` for `session.terminating`, e.g. `upstream_closed`, `upstream_error`. */
  code: string;
  message: string;
  /** WebSocket close code to send the client (docs/protocol.md §3.4): 1000, 1001, 1008, 1011, 1013. */
  closeCode: CloseCode;
}

export interface UpstreamHandlers {
  onEvent(event: ServerEvent): void;
  /** Called at most once, when the upstream ends by itself. Never called after `close()`. */
  onEnd(end: UpstreamEnd): void;
  /**
   * Called after bytes queued toward the upstream were written (`bufferedAmount` went down), so a
   * gateway that stopped reading its client because the upstream was over its high-water mark can
   * resume without polling. At least after every write made while data was queued (the core calls
   * it for those and for large writes, not for a small frame an idle socket took at once). May be
   * called often; it must be cheap.
   */
  onDrain?(): void;
  /**
   * The provider announced that it will end this connection soon (Gemini `goAway`): the gateway
   * rotates to a fresh upstream before it does. Optional for providers that never announce.
   */
  onGoingAway?(): void;
}

export interface OpenUpstreamParams {
  sessionId: string;
  projectId: string;
  /** The effective config (after overlay and capability validation); `model` is set. */
  config: SessionConfig;
  model: ModelDefinition;
  handlers: UpstreamHandlers;
  /** Aborted when the client leaves while the upstream is still connecting. */
  signal: AbortSignal;
  /**
   * A rotation (gateway/upstream-rotation.ts): the provider's own resumption handle of the previous
   * connection (`UpstreamSession.resumptionHandle`), for providers that offer one.
   */
  resumptionHandle?: string;
  /**
   * Warm upstreams (core/upstream-socket-pool.ts): already-open sockets `connectUpstream` takes
   * before it connects. Set by PluginProvider when the module option `warmUpstreams` is on.
   */
  upstreamSockets?: UpstreamSocketSource;
}

export interface UpstreamSession {
  /** Sample rates the client must send / will receive. */
  readonly inputSampleRate: number;
  readonly outputSampleRate: number;
  send(event: ClientEvent): void;
  /** Bytes queued toward the upstream and not yet written (backpressure). */
  readonly bufferedAmount: number;
  /** Stop / restart delivering events (the client socket is over its high-water mark). */
  pause(): void;
  resume(): void;
  /** Close by the gateway; no `onEnd` follows. Idempotent. */
  close(): void;
  /**
   * The latest handle under which the provider lets a new connection resume this conversation
   * (Gemini `sessionResumptionUpdate.newHandle`); undefined while there is none. Providers without
   * resumption leave it out, and are given the history instead (`restoreHistory`).
   */
  readonly resumptionHandle?: string;
  /**
   * Called right after a rotation opened this session, before any client event: put these earlier
   * turns into the provider's conversation (e.g. as conversation items). Optional: a provider
   * without it starts the new connection without the earlier turns.
   */
  restoreHistory?(turns: readonly ConversationTurn[]): void;
}

/**
 * A provider ready to open sessions. Built from a `ProviderPlugin` and its credentials
 * (provider-plugin.ts), or written by hand and passed in the `providers` option.
 */
export abstract class RealtimeProvider {
  /** The model-id prefix this provider serves (`openai` for `openai/gpt-realtime-2`). */
  abstract readonly name: string;
  /**
   * Resolves once the upstream is ready for audio (the gateway then sends `session.started`).
   * Rejects with an Error whose message is safe to show the client when it cannot connect.
   */
  abstract open(params: OpenUpstreamParams): Promise<UpstreamSession>;
}
