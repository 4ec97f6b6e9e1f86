// A periodic refresh of what an instance holds in Redis (session leases, live-session entries):
// an unref'd interval that never runs two refreshes at once, so a slow Redis does not pile them up.
export class RefreshLoop {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly refresh: () => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  /** Starts refreshing (a no-op while already started). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = true;
      void this.refresh().finally(() => (this.running = false));
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
