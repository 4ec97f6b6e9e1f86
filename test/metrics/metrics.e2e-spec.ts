// GET /metrics over real HTTP on Express and Fastify: every RealtimeMetrics observation shows up
// with bounded labels, the default process metrics are there once, a host registry receives the
// gateway's metrics, and metrics off means no route and no-op calls.
import { describe, expect, it } from '@jest/globals';
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';
import { METRIC_NAMES, MetricsModule, RealtimeMetrics } from '../../src/metrics/index.js';
import { createHttpApp, PLATFORMS, withHttpApp } from '../helpers/http-app.js';
import { parsePrometheusText, valueOf } from './prometheus-text.js';

async function scrape(baseUrl: string, path = '/metrics') {
  const res = await fetch(baseUrl + path);
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), text, samples: res.status === 200 ? parsePrometheusText(text) : [] };
}

describe.each(PLATFORMS)('GET /metrics on %s', (platform) => {
  it('exposes every observation with bounded labels, in the text format', async () => {
    await withHttpApp(createHttpApp(platform, MetricsModule.register(true, { models: ['openai/gpt-realtime-2', 'acme/voice-1'], providers: ['openai', 'xai', 'gemini', 'loopback'] })), async (app) => {
      const metrics = app.app.get(RealtimeMetrics);
      expect(metrics.enabled).toBe(true);
      metrics.mint(200);
      metrics.mint(200);
      metrics.mint(400, 'unknown_field');
      metrics.mint(503, 'ticket_store_unavailable');
      metrics.mint(400, 'made_up_code_' + Math.random());
      metrics.redemption('ok');
      metrics.redemption('replayed');
      metrics.redemption('limit_reached');
      metrics.redemption('whatever' as never);
      metrics.mintToRedemption(0.3);
      metrics.ticketExpiredUnredeemed();
      metrics.ticketExpiredUnredeemed(2);
      metrics.sessionOpened('openai', 'openai/gpt-realtime-2');
      metrics.sessionOpened('openai', 'openai/gpt-realtime-2');
      metrics.sessionOpened('acme', 'acme/voice-1');
      metrics.sessionOpened('evil', 'evil/sess_123');
      metrics.sessionClosed('openai', 'openai/gpt-realtime-2', 'client_closed', 42);
      metrics.sessionClosed('evil', 'evil/sess_123', 'sess_abc', 3);
      metrics.relayed('client_to_upstream', 100);
      metrics.relayed('client_to_upstream', 50);
      metrics.relayed('upstream_to_client', 7);
      metrics.upstreamConnected('gemini', 0.2);
      metrics.upstreamConnectFailed('xai', 'upstream_unavailable');
      metrics.fieldLocked('instructions');
      metrics.fieldLocked('instructions');
      metrics.fieldLocked('not-a-field');
      metrics.slowConsumer('client');

      const { status, contentType, samples } = await scrape(app.baseUrl);
      expect(status).toBe(200);
      expect(contentType).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8$/);

      expect(valueOf(samples, METRIC_NAMES.mints, { status: '200', code: 'ok' })).toBe(2);
      expect(valueOf(samples, METRIC_NAMES.mints, { status: '400', code: 'unknown_field' })).toBe(1);
      expect(valueOf(samples, METRIC_NAMES.mints, { status: '503', code: 'ticket_store_unavailable' })).toBe(1);
      expect(valueOf(samples, METRIC_NAMES.mints, { status: '400', code: 'other' })).toBe(1);
      expect(valueOf(samples, METRIC_NAMES.redemptions, { outcome: 'ok' })).toBe(1);
      expect(valueOf(samples, METRIC_NAMES.redemptions, { outcome: 'replayed' })).toBe(1);
      expect(valueOf(samples, METRIC_NAMES.redemptions, { outcome: 'limit_reached' })).toBe(1);
      expect(valueOf(samples, METRIC_NAMES.redemptions, { outcome: 'other' })).toBe(1);
      expect(valueOf(samples, `${METRIC_NAMES.mintToRedemption}_count`)).toBe(1);
      expect(valueOf(samples, `${METRIC_NAMES.mintToRedemption}_bucket`, { le: '0.5' })).toBe(1);
      expect(valueOf(samples, `${METRIC_NAMES.mintToRedemption}_bucket`, { le: '0.25' })).toBe(0);
      expect(valueOf(samples, METRIC_NAMES.expiredUnredeemed)).toBe(3);
      expect(valueOf(samples, METRIC_NAMES.sessionsActive, { provider: 'openai', model: 'openai/gpt-realtime-2' })).toBe(1);
      expect(valueOf(samples, METRIC_NAMES.sessionsActive, { provider: 'other', model: 'acme/voice-1' })).toBe(1);
      expect(valueOf(samples, METRIC_NAMES.sessionsActive, { provider: 'other', model: 'other' })).toBe(0);
      expect(valueOf(samples, `${METRIC_NAMES.sessionDuration}_count`, { provider: 'openai', end_reason: 'client_closed' })).toBe(1);
      expect(valueOf(samples, `${METRIC_NAMES.sessionDuration}_sum`, { provider: 'openai', end_reason: 'client_closed' })).toBe(42);
      expect(valueOf(samples, `${METRIC_NAMES.sessionDuration}_count`, { provider: 'other', end_reason: 'other' })).toBe(1);
      expect(valueOf(samples, METRIC_NAMES.relayedFrames, { direction: 'client_to_upstream' })).toBe(2);
      expect(valueOf(samples, METRIC_NAMES.relayedBytes, { direction: 'client_to_upstream' })).toBe(150);
      expect(valueOf(samples, METRIC_NAMES.relayedFrames, { direction: 'upstream_to_client' })).toBe(1);
      expect(valueOf(samples, METRIC_NAMES.relayedBytes, { direction: 'upstream_to_client' })).toBe(7);
      expect(valueOf(samples, `${METRIC_NAMES.upstreamConnect}_count`, { provider: 'gemini' })).toBe(1);
      expect(valueOf(samples, METRIC_NAMES.upstreamConnectFailures, { provider: 'xai', code: 'upstream_unavailable' })).toBe(1);
      expect(valueOf(samples, METRIC_NAMES.fieldLocked, { field: 'instructions' })).toBe(2);
      expect(valueOf(samples, METRIC_NAMES.fieldLocked, { field: 'other' })).toBe(1);
      expect(valueOf(samples, METRIC_NAMES.slowConsumer, { side: 'client' })).toBe(1);
      // Default process metrics, once.
      expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(samples.some((s) => s.name === 'nodejs_heap_size_used_bytes')).toBe(true);

      // No label value carries anything that came from outside unchecked.
      const values = samples.flatMap((s) => Object.values(s.labels));
      expect(values.filter((v) => /sess_|made_up|evil|not-a-field|whatever/.test(v))).toEqual([]);
    });
  });

  it('every realtime metric follows the naming conventions and has its HELP', async () => {
    await withHttpApp(createHttpApp(platform, MetricsModule.register(true)), async (app) => {
      const { text } = await scrape(app.baseUrl);
      for (const name of Object.values(METRIC_NAMES)) {
        expect(text).toContain(`# HELP ${name} `);
        expect(name).toMatch(/^realtime_[a-z_]+(_total|_seconds|_bytes|_active)$/);
      }
    });
  });

  it('registers into a host registry, which keeps its own metrics and default metrics', async () => {
    const registry = new Registry();
    const hostCounter = new Counter({ name: 'host_requests_total', help: 'host', registers: [registry] });
    hostCounter.inc(5);
    collectDefaultMetrics({ register: registry }); // the host collects them already: no second copy, no throw
    await withHttpApp(createHttpApp(platform, MetricsModule.register({ registry })), async (first) => {
      // A second app on the same registry shares the metrics instead of failing to register them.
      await withHttpApp(createHttpApp(platform, MetricsModule.register({ registry, path: false })), async (second) => {
        first.app.get(RealtimeMetrics).mint(200);
        second.app.get(RealtimeMetrics).mint(200);
        expect(first.app.get(RealtimeMetrics).registry).toBe(registry);
        const { samples } = await scrape(first.baseUrl);
        expect(valueOf(samples, 'host_requests_total')).toBe(5);
        expect(valueOf(samples, METRIC_NAMES.mints, { status: '200', code: 'ok' })).toBe(2);
        expect(samples.filter((s) => s.name === 'process_cpu_user_seconds_total')).toHaveLength(1);
        // path: false leaves the route to the host.
        expect((await scrape(second.baseUrl)).status).toBe(404);
        const hostText = await registry.metrics();
        expect(hostText).toContain(`${METRIC_NAMES.mints}{status="200",code="ok"} 2`);
      });
    });
  });

  it('serves a custom path', async () => {
    await withHttpApp(createHttpApp(platform, MetricsModule.register({ path: '/internal/prom' })), async (app) => {
      expect((await scrape(app.baseUrl, '/internal/prom')).status).toBe(200);
      expect((await scrape(app.baseUrl)).status).toBe(404);
    });
  });

  it('metrics off: no route, a no-op RealtimeMetrics that registers nothing', async () => {
    await withHttpApp(createHttpApp(platform, MetricsModule.register(false)), async (app) => {
      const metrics = app.app.get(RealtimeMetrics);
      expect(metrics.enabled).toBe(false);
      metrics.mint(200);
      metrics.sessionOpened('openai', 'openai/gpt-realtime-2');
      metrics.sessionClosed('openai', 'openai/gpt-realtime-2', 'client_closed', 1);
      metrics.relayed('client_to_upstream', 10);
      expect(metrics.registry.getMetricsAsArray()).toEqual([]);
      expect((await scrape(app.baseUrl)).status).toBe(404);
    });
  });
});

describe('RealtimeMetrics without Nest', () => {
  it('records nothing when disabled: its registry stays empty whatever is observed', async () => {
    const metrics = RealtimeMetrics.disabled();
    metrics.relayed('client_to_upstream', 640);
    metrics.redemption('ok');
    metrics.sessionOpened('openai', 'openai/gpt-realtime-2');
    expect(metrics.registry.getMetricsAsArray()).toEqual([]);
    expect((await metrics.scrape()).trim()).toBe('');
  });

  it('two instances on their own registries do not collide', async () => {
    const a = new RealtimeMetrics({ defaultMetrics: false });
    const b = new RealtimeMetrics({ defaultMetrics: false });
    a.slowConsumer('upstream');
    expect(valueOf(parsePrometheusText(await a.scrape()), METRIC_NAMES.slowConsumer, { side: 'upstream' })).toBe(1);
    expect(valueOf(parsePrometheusText(await b.scrape()), METRIC_NAMES.slowConsumer, { side: 'upstream' })).toBeUndefined();
  });
});
