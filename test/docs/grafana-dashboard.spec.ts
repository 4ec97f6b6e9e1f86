// docs/grafana-dashboard.json stays in step with the metrics the gateway exports: every metric in
// METRIC_NAMES has a panel, every `realtime_…` series a panel queries exists (a renamed metric
// breaks this test rather than a dashboard in production), and panel ids and positions are sound.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { METRIC_NAMES } from '../../src/metrics/realtime-metrics.js';

const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8'));
const panels: any[] = dashboard.panels;
const expressions: string[] = panels.flatMap((p) => (p.targets ?? []).map((t: any) => String(t.expr)));

/** The metric names a PromQL expression reads, without the histogram suffixes. */
function seriesOf(expr: string): string[] {
  return [...expr.matchAll(/\b(realtime_[a-z_]+)\b/g)].map((m) => m[1].replace(/_(bucket|count|sum)$/, ''));
}

describe('the example Grafana dashboard', () => {
  it('has a panel for every exported metric', () => {
    const queried = new Set(expressions.flatMap(seriesOf));
    for (const name of Object.values(METRIC_NAMES)) expect({ name, queried: queried.has(name) }).toEqual({ name, queried: true });
  });

  it('queries no realtime_ series that the gateway does not export', () => {
    const known = new Set<string>(Object.values(METRIC_NAMES));
    for (const expr of expressions) for (const name of seriesOf(expr)) expect({ expr, name, known: known.has(name) }).toEqual({ expr, name, known: true });
  });

  it('histograms are read through their buckets, counters through rate()', () => {
    for (const expr of expressions) {
      if (/histogram_quantile/.test(expr)) expect(expr).toMatch(/_seconds_bucket\{/);
      for (const counter of expr.match(/realtime_[a-z_]+_total\b/g) ?? []) expect(expr).toContain(`rate(${counter}`);
    }
  });

  it('is importable: unique panel ids, a datasource variable, every target on it', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.templating.list.map((v: any) => v.name)).toEqual(expect.arrayContaining(['datasource', 'job']));
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource.uid).toBe('${datasource}');
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    }
  });
});
