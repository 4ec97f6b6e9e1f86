// How an upstream fails, once for every adapter: the connect errors (whose messages are safe to
// show a client: never a URL, which may carry a key) and how a close the gateway did not ask for
// ends the client's session.
import { CloseCode } from '../../errors/close-codes.js';
import { ErrorCode } from '../../errors/error-codes.js';
import type { UpstreamEnd } from '../realtime-provider.js';

export class UpstreamConnectError extends Error {
  constructor(
    message: string,
    /** HTTP status of a refused upgrade, when there was one. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'UpstreamConnectError';
  }

  /** The client left (the open's signal was aborted) before the upstream was ready. */
  static abandoned(): UpstreamConnectError {
    return new UpstreamConnectError('The session was abandoned before the upstream opened');
  }

  /** The connect + confirmation budget ran out. */
  static timedOut(): UpstreamConnectError {
    return new UpstreamConnectError('The upstream did not confirm the session in time');
  }

  /** The gateway closed the session while it was still opening. */
  static closed(): UpstreamConnectError {
    return new UpstreamConnectError('The session was closed');
  }
}

/** Throws `UpstreamConnectError.abandoned()` when the client already left. */
export function throwIfAbandoned(signal: AbortSignal): void {
  if (signal.aborted) throw UpstreamConnectError.abandoned();
}

/**
 * The usual reading of a close the gateway did not ask for: 1000 stays a normal end and 1001 (the
 * provider is going away, e.g. after `session_expired`) stays 1001 so the client knows it may
 * reconnect, both `upstream_closed`; anything else (1006 abnormal, 1011, 4000…) is an upstream
 * failure, `upstream_error` and 1011. The provider's reason is in the message.
 */
export function endForClose(providerLabel: string, code: number, reason: string): UpstreamEnd {
  const why = reason ? ` ${reason.slice(0, 200)}` : '';
  const normal = code === CloseCode.Normal || code === CloseCode.GoingAway;
  return {
    code: normal ? ErrorCode.UpstreamClosed : ErrorCode.UpstreamError,
    message: `${providerLabel} closed the connection (${code}${why})`,
    closeCode: code === CloseCode.GoingAway ? CloseCode.GoingAway : normal ? CloseCode.Normal : CloseCode.Internal,
  };
}
