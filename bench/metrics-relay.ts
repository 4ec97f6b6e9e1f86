// Cost of the per-frame metric call on the relay hot path (RealtimeMetrics.relayed), on and off.
// Run: node bench/build.mjs && node bench/.build/bench/metrics-relay.js
// The relay counters are tallied in plain numbers and handed to prom-client at scrape time; this
// prints ns per call so a change that puts a prom-client inc (a label hash) back on the path shows.
import { RealtimeMetrics } from '../src/metrics/realtime-metrics.js';

const CALLS = 5_000_000;
const ROUNDS = 5;

function nsPerCall(metrics: RealtimeMetrics): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i += 1) metrics.relayed(i & 1 ? 'client_to_upstream' : 'upstream_to_client', 6444);
  return Number(process.hrtime.bigint() - started) / CALLS;
}

for (const [label, metrics] of [
  ['metrics on', new RealtimeMetrics({ defaultMetrics: false })],
  ['metrics off', RealtimeMetrics.disabled()],
] as const) {
  const samples = Array.from({ length: ROUNDS }, () => nsPerCall(metrics)).slice(1); // first round warms up
  samples.sort((a, b) => a - b);
  console.log(`${label}: relayed() ${samples[Math.floor(samples.length / 2)].toFixed(1)} ns per call (median of ${samples.length} rounds of ${CALLS})`);
}
