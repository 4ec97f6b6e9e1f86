// Client resume (issue 14): a browser whose socket dropped re-attaches to its live session with a
// new upgrade offering `opper-resume.<token>` within the grace window (`limits.resumeGraceSeconds`).
// This file holds the two mechanisms: the resume tokens (single-use, bound to one session, stored
// as SHA-256 digests like ticket secrets, valid only while that session lives) and the bounded
// buffer of the events produced while no socket was attached. Tokens live in the live-session
// directory: in this process by default, in Redis with the Redis directory, where a resume that
// lands on another instance takes the session over (session-handover.ts; README "Client resume").
import { randomBytes } from 'node:crypto';
import type { Logger } from '@nestjs/common';
import { sha256Hex } from '../common/digest.js';
import type { LiveSessionDirectory, ResumeTarget } from '../live-sessions/live-session-directory.js';

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

/** A session a token can be issued for. */
export interface Resumable {
  readonly id: string;
  readonly projectId: string;
}

/**
 * Resume tokens of this instance's sessions: one live token per session (issuing a new one
 * revokes the old), stored only as its digest, in the live-session directory; `take` spends one,
 * once across every instance the directory spans.
 */
export class ResumeTokens<S extends Resumable> {
  private readonly digestOf = new Map<S, string>();
  private readonly local = new Set<string>();

  constructor(
    private readonly directory: LiveSessionDirectory,
    private readonly instance: string,
    /** How long a stored token may outlive a session whose end went unrecorded (the store lapses it). */
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {}

  issue(session: S): string {
    this.revoke(session);
    // 256 random bits, base64url: valid in a Sec-WebSocket-Protocol token.
    const token = `rsm_${randomBytes(32).toString('base64url')}`;
    const digest = sha256Hex(token);
    this.digestOf.set(session, digest);
    this.local.add(digest);
    this.directory.saveResumeToken(digest, { projectId: session.projectId, sessionId: session.id, instance: this.instance }, this.ttlMs).catch((err: Error) => {
      this.logger.warn(`Session ${session.id}: resume token not stored (a resume will be refused): ${err?.message}`);
    });
    return token;
  }

  /** True when the token was issued here for a session that still runs here. */
  isLocal(token: string): boolean {
    return this.local.has(sha256Hex(token));
  }

  /** The session the token belongs to, once: the token is spent. Throws when the store is down. */
  async take(token: string): Promise<ResumeTarget | undefined> {
    const digest = sha256Hex(token);
    this.local.delete(digest);
    return this.directory.takeResumeToken(digest);
  }

  /** The session ended (or moved): its token stops working. */
  revoke(session: S): void {
    const digest = this.digestOf.get(session);
    if (digest === undefined) return;
    this.digestOf.delete(session);
    this.local.delete(digest);
    this.directory.dropResumeToken(digest).catch(() => {
      // It lapses with its TTL; a resume with it finds no live session and is refused.
    });
  }

  get size(): number {
    return this.digestOf.size;
  }
}
