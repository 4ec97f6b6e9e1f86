// GET <base>/live and GET <base>/ready through @nestjs/terminus. Live answers 200 while the
// process serves HTTP. Ready answers 503 while draining or while any registered check fails or
// times out, and 200 again as soon as they pass. The reply is written here (not thrown), so an
// app-wide error filter cannot turn the 503 into another status or body.
import { Controller, Get, Inject, Res, ServiceUnavailableException, type Type } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, type HealthIndicatorFunction } from '@nestjs/terminus';
import { DrainState } from './drain-state.js';
import { HEALTH_OPTIONS, type ResolvedHealthOptions } from './health.options.js';
import { ReadinessChecks } from './readiness-check.js';

export function createHealthController(basePath: string): Type<unknown> {
  @ApiTags('health')
  @Controller(basePath)
  class HealthController {
    constructor(
      @Inject(HealthCheckService) private readonly health: HealthCheckService,
      @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
      @Inject(ReadinessChecks) private readonly checks: ReadinessChecks,
      @Inject(DrainState) private readonly drain: DrainState,
      @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
      @Inject(HEALTH_OPTIONS) private readonly options: ResolvedHealthOptions,
    ) {}

    @Get('live')
    @ApiOperation({ summary: 'Liveness: 200 while the process serves HTTP' })
    @ApiOkResponse({ description: 'The process is alive (terminus body, `status: ok`).' })
    async live(@Res() response: unknown): Promise<void> {
      this.send(response, 200, await this.health.check([]));
    }

    @Get('ready')
    @ApiOperation({ summary: 'Readiness: 200 when the stores answer and the instance is not draining' })
    @ApiOkResponse({ description: 'Every check is up (terminus body: `info` names each check).' })
    @ApiServiceUnavailableResponse({ description: 'A check is down or timed out (`error` names it), or the instance is draining (`error.drain`).' })
    async ready(@Res() response: unknown): Promise<void> {
      if (this.drain.isDraining) {
        return this.send(response, 503, { status: 'error', info: {}, error: { drain: { status: 'down', message: 'draining' } }, details: { drain: { status: 'down', message: 'draining' } } });
      }
      const indicators: HealthIndicatorFunction[] = this.checks.list().map(
        (check) => () =>
          this.indicators
            .check(check.name)
            .attempt(async ({ signal }) => {
              try {
                await check.check(signal);
              } catch (err) {
                // Only a bounded message leaves the process; never a stack or a connection string.
                throw new Error(String((err as Error)?.message ?? err).slice(0, 200).replace(/\w+:\/\/\S+/g, '[url]'));
              }
            })
            .withTimeout(check.timeoutMs ?? this.options.checkTimeoutMs),
      );
      try {
        this.send(response, 200, await this.health.check(indicators));
      } catch (err) {
        if (!(err instanceof ServiceUnavailableException)) throw err;
        this.send(response, 503, err.getResponse());
      }
    }

    private send(response: unknown, status: number, body: unknown): void {
      const adapter = this.adapterHost.httpAdapter;
      adapter.setHeader(response, 'Cache-Control', 'no-store');
      adapter.reply(response, body, status);
    }
  }
  return HealthController;
}
