// GET /metrics: the Prometheus text exposition of the registry the metrics live in (a host's
// registry serves its own metrics too). The route is added on the HTTP adapter when the module
// initialises rather than declared by a controller, because whether metrics are on and on which
// path are module options, and with `forRootAsync` those are only known once DI has run (a
// controller's path is fixed when its class is defined). Nest adds its 404 handler after the init
// hooks, so the route is in place before it on Express and before `ready()` on Fastify.
import type { OnModuleInit } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import type { RealtimeMetrics } from './realtime-metrics.js';

export const DEFAULT_METRICS_PATH = '/metrics';

export class MetricsRoute implements OnModuleInit {
  private registered = false;

  constructor(
    private readonly metrics: RealtimeMetrics,
    private readonly adapterHost: HttpAdapterHost,
    /** The route, or undefined for none (metrics off, or `path: false`: the host serves its registry). */
    readonly path: string | undefined,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    // No HTTP server (an application context): nothing to serve on.
    if (!this.path || !this.metrics.enabled || this.registered || typeof adapter?.get !== 'function') return;
    this.registered = true;
    adapter.get(this.path, (_request: unknown, response: unknown) => void this.scrape(response));
  }

  private async scrape(response: unknown): Promise<void> {
    const adapter = this.adapterHost.httpAdapter;
    try {
      const body = await this.metrics.scrape();
      // The registry says which format it renders (Prometheus 0.0.4 or OpenMetrics).
      adapter.setHeader(response, 'Content-Type', this.metrics.contentType);
      adapter.setHeader(response, 'Cache-Control', 'no-store');
      adapter.reply(response, body, 200);
    } catch (err) {
      // A host collector that throws must not leave the scrape hanging.
      adapter.reply(response, `# metrics collection failed: ${(err as Error)?.message ?? String(err)}\n`, 500);
    }
  }
}
