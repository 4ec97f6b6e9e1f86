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

export abstract class LiveSessionDirectory {
  private handler: TerminationHandler | undefined;

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
