// Whether this instance is draining (SIGTERM received): readiness answers 503, new upgrades and
// mints are refused with `server_draining`, live sessions get until the drain deadline. One
// instance per app; whoever must react (the gateway closing sessions, the mint route) subscribes.
import { Injectable } from '@nestjs/common';

export type DrainListener = () => void;

@Injectable()
export class DrainState {
  private draining = false;
  private readonly listeners = new Set<DrainListener>();
  private resolveDrain!: () => void;
  /** Resolves when the drain starts. */
  readonly started: Promise<void> = new Promise((resolve) => (this.resolveDrain = resolve));

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Starts the drain (idempotent). Listeners run synchronously, once; one that throws does not stop
   * the others. Returns true the first time, false when already draining.
   */
  startDrain(): boolean {
    if (this.draining) return false;
    this.draining = true;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) {
      try {
        listener();
      } catch {
        // one failing subscriber must not keep the others from draining
      }
    }
    this.resolveDrain();
    return true;
  }

  /** Calls `listener` when the drain starts (at once when it already has). Returns an unsubscribe. */
  onDrain(listener: DrainListener): () => void {
    if (this.draining) {
      listener();
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
