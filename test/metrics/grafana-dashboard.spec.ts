// docs/grafana-dashboard.json stays true to the metrics: every series a panel queries is one the
// gateway exports (METRIC_NAMES, with the histogram suffixes) or a prom-client default metric,
// and every gateway metric is on the dashboard.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { METRIC_NAMES } from '../../src/index.js';

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
}

const dashboard = JSON.parse(readFileSync(new URL('../../docs/grafana-dashboard.json', import.meta.url), 'utf8')) as Dashboard;

describe('docs/grafana-dashboard.json', () => {
  it('queries only metrics the gateway exports, and shows every one of them', () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const defaults = registry.getMetricsAsArray().map((m) => m.name);
    const ours = Object.values(METRIC_NAMES) as string[];
    const known = new Set([...defaults, ...ours.flatMap((n) => [n, `${n}_bucket`, `${n}_count`, `${n}_sum`])]);
    const queried = new Set<string>();
    for (const panel of dashboard.panels) {
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const { expr } of panel.targets) {
        for (const [name] of expr.matchAll(/\b(?:realtime|process|nodejs)_[a-z0-9_]+/g)) {
          expect(`${panel.title}: ${name} ${known.has(name) ? 'known' : 'unknown'}`).toBe(`${panel.title}: ${name} known`);
          queried.add(name.replace(/_(bucket|count|sum)$/, ''));
        }
      }
    }
    expect(ours.filter((name) => !queried.has(name))).toEqual([]);
  });
});
