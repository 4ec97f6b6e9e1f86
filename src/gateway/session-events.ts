// Metering / audit hook: host apps learn when sessions start and end, with what they used.
// Provide a subclass through the `sessionEvents` option (or override `SessionEventsHook` in DI).

export interface SessionStartedEvent {
  sessionId: string;
  projectId: string;
  keyId: string;
  model: string;
  provider: string;
  /** `ticket` (browser) or `api_key` (server-side client with a bearer key). */
  credential: 'ticket' | 'api_key';
  startedAt: Date;
  /** The public id (`rt_…`) of the ticket that opened the session (ticket sessions only). */
  ticketId?: string;
  /**
   * The ticket's `metadata` as minted (ticket sessions minted with it only): the backend's own
   * attribution, for metering per end user. Never sent to the provider or the browser.
   */
  metadata?: Record<string, string>;
}

export interface SessionEndedEvent extends SessionStartedEvent {
  endedAt: Date;
  durationMs: number;
  /** Bytes of client frames received / server frames sent on the client socket. */
  bytesIn: number;
  bytesOut: number;
  /** The `error.code` of `session.terminating` (`terminated_by_backend` included), or `client_closed`. */
  endReason: string;
  closeCode: number;
  /** Provider-reported usage summed over the session (numbers added field by field), when reported. */
  usage?: Record<string, unknown>;
}

export abstract class SessionEventsHook {
  abstract sessionStarted(event: SessionStartedEvent): void | Promise<void>;
  abstract sessionEnded(event: SessionEndedEvent): void | Promise<void>;
}

export class NoopSessionEventsHook extends SessionEventsHook {
  sessionStarted(): void {}
  sessionEnded(): void {}
}
