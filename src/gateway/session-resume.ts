// Client resume (issue 14): a browser whose socket dropped re-attaches to its live session and
// upstream with a new upgrade offering `opper-resume.<token>` within the grace window
// (`limits.resumeGraceSeconds`). This file holds the two mechanisms: the resume tokens (single-use,
// bound to one session, stored as SHA-256 digests like ticket secrets, valid only while that
// session lives) and the bounded buffer of the events produced while no socket was attached.
// Tokens are instance-local: a resume landing on another instance is refused (401) and the client
// starts a new session (README, "Client resume").
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../common/digest.js';

/** Events produced while the client was away, in order, at most `maxBytes` of JSON. */
export class ResumeBuffer {
  private readonly events: Array<{ data: string; bytes: number }> = [];
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  /** False (and nothing kept) when the event would pass the bound: the session then ends. */
  push(data: string, bytes: number): boolean {
    if (this.total + bytes > this.maxBytes) return false;
    this.total += bytes;
    this.events.push({ data, bytes });
    return true;
  }

  /** Takes every buffered event, oldest first, exactly once. */
  drain(): Array<{ data: string; bytes: number }> {
    const events = this.events.splice(0);
    this.total = 0;
    return events;
  }

  get bytes(): number {
    return this.total;
  }
}

/**
 * Resume tokens of this instance's sessions: one live token per session (issuing a new one
 * revokes the old), stored only as its digest; `claim` spends it.
 */
export class ResumeTokens<S> {
  private readonly byDigest = new Map<string, S>();
  private readonly digestOf = new Map<S, string>();

  issue(session: S): string {
    this.revoke(session);
    // 256 random bits, base64url: valid in a Sec-WebSocket-Protocol token.
    const token = `rsm_${randomBytes(32).toString('base64url')}`;
    const digest = sha256Hex(token);
    this.byDigest.set(digest, session);
    this.digestOf.set(session, digest);
    return token;
  }

  /** The session the token belongs to, once: the token is spent (a replay finds nothing). */
  claim(token: string): S | undefined {
    const digest = sha256Hex(token);
    const session = this.byDigest.get(digest);
    if (session === undefined) return undefined;
    this.byDigest.delete(digest);
    this.digestOf.delete(session);
    return session;
  }

  /** The session ended: its token stops working. */
  revoke(session: S): void {
    const digest = this.digestOf.get(session);
    if (digest === undefined) return;
    this.digestOf.delete(session);
    this.byDigest.delete(digest);
  }

  get size(): number {
    return this.byDigest.size;
  }
}
