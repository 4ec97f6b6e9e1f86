// GET /metrics: the Prometheus text exposition of the registry the metrics live in (a host's
// registry serves its own metrics too). Built per path, since a route path is fixed at decoration.
import { Controller, Get, Inject, Res, type Type } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RealtimeMetrics } from './realtime-metrics.js';

export const DEFAULT_METRICS_PATH = '/metrics';

export function createMetricsController(path: string = DEFAULT_METRICS_PATH): Type<unknown> {
  @Controller()
  class MetricsController {
    constructor(
      @Inject(RealtimeMetrics) private readonly metrics: RealtimeMetrics,
      @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
    ) {}

    @Get(path)
    async scrape(@Res() response: unknown): Promise<void> {
      const body = await this.metrics.scrape();
      const adapter = this.adapterHost.httpAdapter;
      // The registry says which format it renders (Prometheus 0.0.4 or OpenMetrics).
      adapter.setHeader(response, 'Content-Type', this.metrics.contentType);
      adapter.setHeader(response, 'Cache-Control', 'no-store');
      adapter.reply(response, body, 200);
    }
  }
  return MetricsController;
}
