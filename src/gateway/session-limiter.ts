// Counts live sessions per project so one project cannot take the whole gateway.
// The in-memory default covers one instance; a shared implementation (Redis leases) covers many.

export abstract class SessionLimiter {
  /** Reserve a slot; resolves false when the project is at `max`. Throws when the store is down. */
  abstract acquire(projectId: string, sessionId: string, max: number): Promise<boolean>;
  /** Free the slot of a session (idempotent). */
  abstract release(projectId: string, sessionId: string): Promise<void>;

  /**
   * Resolves when the limiter's store can answer right now, throws when it cannot (readiness: GET
   * /health/ready is 503 while it throws). The default resolves: override it in a limiter that
   * depends on a server.
   */
  async ping(): Promise<void> {}
}

export class InMemorySessionLimiter extends SessionLimiter {
  private readonly live = new Map<string, Set<string>>();

  async acquire(projectId: string, sessionId: string, max: number): Promise<boolean> {
    const sessions = this.live.get(projectId) ?? new Set<string>();
    if (sessions.size >= max) return false;
    sessions.add(sessionId);
    this.live.set(projectId, sessions);
    return true;
  }

  async release(projectId: string, sessionId: string): Promise<void> {
    const sessions = this.live.get(projectId);
    if (!sessions) return;
    sessions.delete(sessionId);
    if (sessions.size === 0) this.live.delete(projectId);
  }

  count(projectId: string): number {
    return this.live.get(projectId)?.size ?? 0;
  }
}
