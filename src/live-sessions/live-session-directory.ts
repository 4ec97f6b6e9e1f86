// Which sessions are live, on which instance, and the way to end one wherever it runs (backend
// control: GET /v3/realtime-sessions/live and DELETE …/live/{session_id}). The gateway registers
// each session once it has started and removes it when it closes; the issuance routes list and
// terminate. The abstract class is both the type and the DI token; the in-memory default covers one
// instance, the Redis one (redis-live-session-directory.ts) every instance on one Redis.

/** One live session, as the backend sees it (never anything secret). */
export interface LiveSession {
  /** The id `session.started` announced (`sess_…`). */
  sessionId: string;
  projectId: string;
  /** The public id (`rt_…`) of the ticket that opened it; absent for bearer-key sessions. */
  ticketId?: string;
  model: string;
  provider: string;
  /** Epoch milliseconds. */
  startedAt: number;
  /** The ticket's metadata, as minted. */
  metadata?: Record<string, string>;
  /** The instance that runs it (the `instanceId` option). */
  instance: string;
}

/** Ends this instance's session with that id (the gateway's registry). */
export type TerminationHandler = (projectId: string, sessionId: string) => void;

/** Which live session a resume token belongs to (client resume, gateway/session-resume.ts). */
export interface ResumeTarget {
  projectId: string;
  sessionId: string;
  /** The instance that ran the session when the token was issued (the `instanceId` option). */
  instance: string;
}

/**
 * Gives up this instance's session with that id to the instance a resume landed on: resolves the
 * session's carried-over state (opaque to the directory), `''` when the session is here but cannot
 * be handed over (it is ending), and undefined when it does not run here.
 */
export type HandOverHandler = (projectId: string, sessionId: string) => Promise<string | undefined>;

export abstract class LiveSessionDirectory {
  private handler: TerminationHandler | undefined;
  private handOverHandler: HandOverHandler | undefined;
  /** Resume tokens of this process, by digest (the default, instance-local store). */
  private readonly resumeTokens = new Map<string, ResumeTarget>();

  /** Records a session this instance runs, until `unregister` (or, shared, until its lease lapses). */
  abstract register(session: LiveSession): Promise<void>;

  abstract unregister(projectId: string, sessionId: string): Promise<void>;

  /** The project's live sessions on every instance this directory spans. */
  abstract list(projectId: string): Promise<LiveSession[]>;

  /**
   * Asks whichever instance runs the session to end it. Resolves false when the project has no
   * live session with this id (another project's id included). Throws when the store is down.
   */
  abstract terminate(projectId: string, sessionId: string): Promise<boolean>;

  /** Sets who ends this instance's sessions when a termination reaches it. */
  onTermination(handler: TerminationHandler): void {
    this.handler = handler;
  }

  /** For implementations: hand a termination to this instance's sessions. */
  protected deliver(projectId: string, sessionId: string): void {
    this.handler?.(projectId, sessionId);
  }

  // ── client resume ───────────────────────────────────────────────────────────────────────────
  // The defaults keep tokens in this process (a resume must land on the instance that issued the
  // token); the Redis directory shares them, so a resume lands on any instance and the session is
  // handed over (README "Client resume").

  /** Records a resume token by its SHA-256 digest, until taken or dropped, for at most `ttlMs`. */
  async saveResumeToken(digest: string, target: ResumeTarget, _ttlMs: number): Promise<void> {
    this.resumeTokens.set(digest, target);
  }

  /** The token's session, once across every instance this directory spans (the token is spent). */
  async takeResumeToken(digest: string): Promise<ResumeTarget | undefined> {
    const target = this.resumeTokens.get(digest);
    this.resumeTokens.delete(digest);
    return target;
  }

  /** The token stops working (its session ended, or a newer token replaced it). */
  async dropResumeToken(digest: string): Promise<void> {
    this.resumeTokens.delete(digest);
  }

  /**
   * Asks the instance running `target` to hand the session over; resolves the carried-over state,
   * or undefined when no instance gave it within `timeoutMs`. The default spans one instance, where
   * there is nobody to ask.
   */
  async requestHandOver(_target: ResumeTarget, _timeoutMs: number): Promise<string | undefined> {
    return undefined;
  }

  /** Sets who hands this instance's sessions over when another instance asks (the gateway's registry). */
  onHandOver(handler: HandOverHandler): void {
    this.handOverHandler = handler;
  }

  /** For implementations: ask this instance's sessions for a hand-over. */
  protected handOver(projectId: string, sessionId: string): Promise<string | undefined> {
    return this.handOverHandler ? this.handOverHandler(projectId, sessionId) : Promise.resolve(undefined);
  }
}

/** One instance: a map, and terminations delivered in the process. */
export class InMemoryLiveSessionDirectory extends LiveSessionDirectory {
  private readonly sessions = new Map<string, Map<string, LiveSession>>();

  async register(session: LiveSession): Promise<void> {
    const project = this.sessions.get(session.projectId) ?? new Map<string, LiveSession>();
    project.set(session.sessionId, session);
    this.sessions.set(session.projectId, project);
  }

  async unregister(projectId: string, sessionId: string): Promise<void> {
    const project = this.sessions.get(projectId);
    project?.delete(sessionId);
    if (project?.size === 0) this.sessions.delete(projectId);
  }

  async list(projectId: string): Promise<LiveSession[]> {
    return [...(this.sessions.get(projectId)?.values() ?? [])];
  }

  async terminate(projectId: string, sessionId: string): Promise<boolean> {
    if (!this.sessions.get(projectId)?.has(sessionId)) return false;
    this.deliver(projectId, sessionId);
    return true;
  }
}
