// How a close by Gemini ends the client's session. Gemini has no error message: every failure is a
// WebSocket close frame with a code and a human-readable reason (docs/providers.md §3.5), so the close is
// the whole story and its reason is what the client is told.
//
// | Gemini close                        | session.terminating code | client close |
// |-------------------------------------|--------------------------|--------------|
// | any code after a `goAway`, but 1007/1008 (the announced end of the connection's lifetime) | upstream_closed | 1000 |
// | 1000 normal, 1001 going away        | upstream_closed          | 1000         |
// | 1007 invalid argument (bad key, bad setup or field, context exhausted) | upstream_error | 1011 |
// | 1008 policy (unknown/retired model, entity not found) | upstream_error | 1011 |
// | 1011 internal error, deadline expired | upstream_error         | 1011         |
// | 1013 try again later                | upstream_error           | 1013         |
// | 1006 no close frame (connection lost), any other code | upstream_error | 1011 |
//
// The message is Gemini's reason when it gave one (it never holds the key; a `key=` is scrubbed all
// the same), else a sentence naming the code.
import { CloseCode } from '../../errors/close-codes.js';
import { ErrorCode } from '../../errors/error-codes.js';
import type { UpstreamEnd } from '../realtime-provider.js';

/** Codes Gemini sends that the gateway never does (CloseCode has the ones it sends). */
const ABNORMAL_CLOSURE = 1006;
const INVALID_PAYLOAD = 1007;

export function endForGeminiClose(code: number, reason: string, afterGoAway: boolean): UpstreamEnd {
  const told = scrub(reason.trim());
  const rejected = code === INVALID_PAYLOAD || code === CloseCode.Policy;
  if ((afterGoAway && !rejected) || code === CloseCode.Normal || code === CloseCode.GoingAway) {
    return {
      code: ErrorCode.UpstreamClosed,
      message: afterGoAway
        ? `Gemini ended the session: the connection reached its time limit${told ? ` (${told})` : ''}`
        : told || 'Gemini closed the session',
      closeCode: CloseCode.Normal,
    };
  }
  if (code === ABNORMAL_CLOSURE) {
    return { code: ErrorCode.UpstreamError, message: 'The connection to Gemini was lost', closeCode: CloseCode.Internal };
  }
  return {
    code: ErrorCode.UpstreamError,
    message: told || `Gemini closed the session with code ${code}`,
    closeCode: code === CloseCode.Overloaded ? CloseCode.Overloaded : CloseCode.Internal,
  };
}

function scrub(text: string): string {
  return text.replace(/([?&]?(key|access_token)=)[^&\s]*/gi, '$1…');
}
