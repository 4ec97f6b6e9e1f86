// Turns the samples into medians, ratios and goal checks: a markdown table and the JSON result.
import type { HttpConfigResult, MemoryResult, Plan, RelayRun, UpgradeConfigResult } from '../run.js';
import type { Variant } from '../relay-client.js';
import { median, ratio, round } from './stats.js';

export interface ReportInput {
  plan: Plan;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; os: string; commit: string };
  startedAt: string;
  seconds: number;
  redis: string | undefined;
  mint?: HttpConfigResult[];
  redeem?: UpgradeConfigResult[];
  relay?: { runs: RelayRun[]; sessions: number[]; capacitySessions: number[]; scalingSessions?: number[] };
  memory?: MemoryResult;
}

export const GOALS = {
  mintRatio: 0.8,
  /** Redemption ÷ the bare upgrade: in memory (every platform), and with Redis (one round trip more). */
  redeemRatio: 0.9,
  redeemRedisRatio: 0.7,
  /** Gateway CPU per relayed frame ÷ the pass-through's, at `relayCpuGoalSessions`. */
  relayCpuRatio: 1.15,
  relayCpuGoalSessions: 100,
  relayAddedRatio: 1.5,
  relayGoalSessions: 200,
  capacityRatio: 0.9,
  framePeriodMs: 20,
  /** Heap + external of an idle session with its upstream socket. */
  idleSessionBytes: 16 * 1024,
  /** A relay sample at or above this CPU (% of one core), or that lost frames, was saturated. */
  saturatedCpuPct: 90,
};

const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const met = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'met' : '**missed**');

function throughputRows<T extends { rate: number; failures: number; latency: { p99: number } }>(
  results: Array<{ platform: string; store: string; gateway: T[]; baseline: T[] }>,
  goalOf: (store: string) => number,
) {
  return results.map((r) => {
    const goal = goalOf(r.store);
    const gatewayRate = median(r.gateway.map((s) => s.rate));
    const baselineRate = median(r.baseline.map((s) => s.rate));
    const gatewayP99 = median(r.gateway.map((s) => s.latency.p99));
    const baselineP99 = median(r.baseline.map((s) => s.latency.p99));
    const rateRatio = ratio(gatewayRate, baselineRate);
    const failures = [...r.gateway, ...r.baseline].reduce((sum, s) => sum + s.failures, 0);
    return {
      platform: r.platform,
      store: r.store,
      rounds: r.gateway.length,
      gatewayRate: round(gatewayRate, 0),
      baselineRate: round(baselineRate, 0),
      rateRatio: round(rateRatio, 3),
      perRoundRatios: r.gateway.map((g, i) => round(ratio(g.rate, r.baseline[i]?.rate), 3)),
      gatewayP99Ms: round(gatewayP99, 2),
      baselineP99Ms: round(baselineP99, 2),
      p99Ratio: round(ratio(gatewayP99, baselineP99), 3),
      failures,
      goal,
      met: failures === 0 && rateRatio >= goal,
    };
  });
}

interface RelayPoint {
  sessions: number;
  rounds: number;
  direct: { p50: number; p99: number; max: number };
  /** Round trip through each relay (ms, medians over rounds). */
  passthroughRtt: { p50: number; p99: number; max: number };
  gatewayRtt: { p50: number; p99: number; max: number };
  /** Added latency: relay percentile minus direct percentile in the same round, median over rounds. */
  passthroughAdded: { p50: number; p99: number; max: number };
  gatewayAdded: { p50: number; p99: number; max: number };
  ratioP50: number;
  ratioP99: number;
  gatewayCpuPctPerSession: number;
  passthroughCpuPctPerSession: number;
  gatewayKbPerSession: number;
  passthroughKbPerSession: number;
  /** Gateway CPU ÷ pass-through CPU in the same round (same frames relayed: CPU per frame), median over rounds. */
  cpuRatio: number;
  /** The relay was at its knee in the median round (CPU ≥ saturatedCpuPct or frames lost): its CPU per session is a lower bound. */
  gatewaySaturated: boolean;
  passthroughSaturated: boolean;
  lossPct: Record<Variant, number>;
  clientCpuPct: number;
  clientLagP99: number;
}

function relayPoints(runs: RelayRun[]): RelayPoint[] {
  const sessions = [...new Set(runs.map((r) => r.sessions))].sort((a, b) => a - b);
  return sessions.map((n) => {
    const at = runs.filter((r) => r.sessions === n);
    const rounds = [...new Set(at.map((r) => r.round))];
    const of = (variant: Variant, round: number) => at.find((r) => r.variant === variant && r.round === round);
    const pct = (variant: Variant, key: 'p50' | 'p99' | 'max') => median(rounds.map((k) => of(variant, k)?.latency[key] ?? NaN));
    const added = (variant: Variant, key: 'p50' | 'p99' | 'max') =>
      median(rounds.map((k) => (of(variant, k)?.latency[key] ?? NaN) - (of('direct', k)?.latency[key] ?? NaN)));
    const triple = (f: (key: 'p50' | 'p99' | 'max') => number) => ({ p50: round(f('p50'), 3), p99: round(f('p99'), 3), max: round(f('max'), 3) });
    const passthroughAdded = triple((k) => added('passthrough', k));
    const gatewayAdded = triple((k) => added('gateway', k));
    const cpuPerSession = (variant: Variant) => median(rounds.map((k) => (of(variant, k)?.relayCpuPct ?? NaN) / n));
    const kbPerSession = (variant: Variant) => median(rounds.map((k) => (of(variant, k)?.relayBytesPerSession.rss ?? NaN) / 1024));
    const saturated = (variant: Variant) => {
      const list = rounds.map((k) => of(variant, k)).filter(Boolean) as RelayRun[];
      const hits = list.filter((r) => r.relayCpuPct >= GOALS.saturatedCpuPct || r.lost + r.skipped > 0 || r.opened < r.sessions).length;
      return hits * 2 > list.length;
    };
    const loss = (variant: Variant) => {
      const list = rounds.map((k) => of(variant, k)).filter(Boolean) as RelayRun[];
      const sent = list.reduce((s, r) => s + r.sent + r.skipped, 0);
      const lost = list.reduce((s, r) => s + r.lost + r.skipped + (r.sessions - r.opened) * 50 * r.windowSeconds, 0);
      return sent ? round((lost / sent) * 100, 2) : NaN;
    };
    return {
      sessions: n,
      rounds: rounds.length,
      direct: triple((k) => pct('direct', k)),
      passthroughRtt: triple((k) => pct('passthrough', k)),
      gatewayRtt: triple((k) => pct('gateway', k)),
      passthroughAdded,
      gatewayAdded,
      ratioP50: round(ratio(gatewayAdded.p50, passthroughAdded.p50), 2),
      ratioP99: round(ratio(gatewayAdded.p99, passthroughAdded.p99), 2),
      gatewayCpuPctPerSession: round(cpuPerSession('gateway'), 4),
      passthroughCpuPctPerSession: round(cpuPerSession('passthrough'), 4),
      gatewayKbPerSession: round(kbPerSession('gateway'), 1),
      passthroughKbPerSession: round(kbPerSession('passthrough'), 1),
      cpuRatio: round(median(rounds.map((k) => ratio(of('gateway', k)?.relayCpuPct ?? NaN, of('passthrough', k)?.relayCpuPct ?? NaN))), 2),
      gatewaySaturated: saturated('gateway'),
      passthroughSaturated: saturated('passthrough'),
      lossPct: { direct: loss('direct'), passthrough: loss('passthrough'), gateway: loss('gateway') },
      clientCpuPct: round(median(at.map((r) => r.clientCpuPct)), 0),
      clientLagP99: round(median(at.map((r) => r.sendLag.p99)), 2),
    };
  });
}

/**
 * Sessions at which a series first passes `limit`, interpolated linearly between the last grid point
 * under it and the first over it. `> max` when it never passes, `< min` when the first point does.
 */
function crossing(points: Array<{ n: number; v: number }>, limit: number): { sessions: number; bound: 'exact' | 'above' | 'below' } {
  const sorted = points.filter((p) => Number.isFinite(p.v)).sort((a, b) => a.n - b.n);
  if (!sorted.length) return { sessions: NaN, bound: 'exact' };
  if (sorted[0].v > limit) return { sessions: sorted[0].n, bound: 'below' };
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1];
    const b = sorted[i];
    if (b.v > limit) return { sessions: Math.round(a.n + ((limit - a.v) / (b.v - a.v)) * (b.n - a.n)), bound: 'exact' };
  }
  return { sessions: sorted[sorted.length - 1].n, bound: 'above' };
}

function capacityOf(points: RelayPoint[]) {
  const series = (f: (p: RelayPoint) => number) => points.map((p) => ({ n: p.sessions, v: f(p) }));
  const pass = crossing(series((p) => p.passthroughRtt.p99), GOALS.framePeriodMs);
  const gate = crossing(series((p) => p.gatewayRtt.p99), GOALS.framePeriodMs);
  // A ratio only between two measured crossings; with a bound on either side it is not known.
  const r = gate.bound === 'exact' && pass.bound === 'exact' ? ratio(gate.sessions, pass.sessions) : NaN;
  // With a bound on one side only, the goal is decided when the bound settles it either way.
  let goalMet: boolean | undefined;
  const bound = ratio(gate.sessions, pass.sessions);
  if (gate.bound === 'exact' && pass.bound === 'exact') goalMet = r >= GOALS.capacityRatio;
  else if (gate.bound === 'above') goalMet = pass.bound !== 'above' || undefined; // gateway never passed the limit
  else if (pass.bound === 'above') goalMet = bound >= GOALS.capacityRatio ? undefined : false; // true ratio is below gate/max
  else if (pass.bound === 'below') goalMet = gate.bound === 'below' ? undefined : true;
  return {
    definition: `largest N before the median (over rounds) p99 round trip through the relay passes ${GOALS.framePeriodMs} ms, interpolated between measured N`,
    passthrough: pass,
    gateway: gate,
    ratio: round(r, 2),
    goal: GOALS.capacityRatio,
    met: goalMet,
  };
}

const describeCapacity = (c: { sessions: number; bound: string }) =>
  c.bound === 'above' ? `> ${c.sessions}` : c.bound === 'below' ? `< ${c.sessions}` : `≈ ${c.sessions}`;

export function renderReport(input: ReportInput): { markdown: string; json: object } {
  const { plan, machine } = input;
  const lines: string[] = [];
  const json: Record<string, unknown> = {
    mode: plan.mode,
    startedAt: input.startedAt,
    seconds: input.seconds,
    machine,
    plan,
    redis: input.redis,
    goals: GOALS,
  };
  lines.push(
    `Run: ${input.startedAt}, ${plan.mode} mode, ${input.seconds} s; ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.os}; commit ${machine.commit}. ` +
      `Medians of ${plan.rounds} interleaved rounds.`,
    '',
  );

  if (input.mint) {
    const rows = throughputRows(input.mint, () => GOALS.mintRatio);
    json.minting = { rows, samples: input.mint };
    lines.push(
      `**Minting** — \`POST /v3/realtime-sessions\` vs a bare route in the same app (same adapter, same bearer guard, static body of the same shape); autocannon, ${plan.mintConnections} connections, ${plan.mintSeconds} s samples.`,
      '',
      `| platform | tickets | mint req/s | bare req/s | ratio (goal ≥ ${GOALS.mintRatio}) | mint p99 ms | bare p99 ms | p99 ratio | goal |`,
      '|---|---|--:|--:|--:|--:|--:|--:|---|',
      ...rows.map(
        (r) =>
          `| ${r.platform} | ${r.store} | ${r.gatewayRate} | ${r.baselineRate} | ${fmt(r.rateRatio)} | ${fmt(r.gatewayP99Ms)} | ${fmt(r.baselineP99Ms)} | ${fmt(r.p99Ratio)} | ${met(r.met)}${r.failures ? ` (${r.failures} failed requests)` : ''} |`,
      ),
      '',
    );
  }
  if (input.redeem) {
    const rows = throughputRows(input.redeem, (store) => (store === 'redis' ? GOALS.redeemRedisRatio : GOALS.redeemRatio));
    json.redemption = { rows, samples: input.redeem };
    lines.push(
      `**Redemption** — upgrade on \`/v3/realtime\` with a fresh ticket (\`opper-ticket.<secret>\` subprotocol) vs a bare \`ws\` upgrade with no authentication on the same server; ${plan.upgrades} upgrades per sample, ${plan.upgradeConcurrency} at a time, time to the 101.`,
      '',
      `| platform | tickets | redeem upgrades/s | bare upgrades/s | ratio (goal ≥ ${GOALS.redeemRatio} in memory, ≥ ${GOALS.redeemRedisRatio} Redis) | redeem p99 ms | bare p99 ms | p99 ratio | goal |`,
      '|---|---|--:|--:|--:|--:|--:|--:|---|',
      ...rows.map(
        (r) =>
          `| ${r.platform} | ${r.store} | ${r.gatewayRate} | ${r.baselineRate} | ${fmt(r.rateRatio)} | ${fmt(r.gatewayP99Ms)} | ${fmt(r.baselineP99Ms)} | ${fmt(r.p99Ratio)} | ${met(r.met)}${r.failures ? ` (${r.failures} failed upgrades)` : ''} |`,
      ),
      '',
    );
  }
  if (input.relay) {
    const points = relayPoints(input.relay.runs);
    const capacity = capacityOf(points);
    const goalPoint = points.find((p) => p.sessions === GOALS.relayGoalSessions);
    const relayGoal = goalPoint
      ? { sessions: GOALS.relayGoalSessions, ratioP50: goalPoint.ratioP50, ratioP99: goalPoint.ratioP99, met: goalPoint.ratioP50 <= GOALS.relayAddedRatio && goalPoint.ratioP99 <= GOALS.relayAddedRatio }
      : undefined;
    const cpuPoint = points.find((p) => p.sessions === GOALS.relayCpuGoalSessions);
    const cpuGoal = cpuPoint
      ? {
          sessions: GOALS.relayCpuGoalSessions,
          ratio: cpuPoint.cpuRatio,
          goal: GOALS.relayCpuRatio,
          // A saturated sample's CPU is capped: the ratio is not known.
          met: cpuPoint.gatewaySaturated || cpuPoint.passthroughSaturated ? undefined : cpuPoint.cpuRatio <= GOALS.relayCpuRatio,
        }
      : undefined;
    const scalingSessions = input.relay.scalingSessions ?? [];
    const scaling = points.filter((p) => scalingSessions.includes(p.sessions));
    json.relay = { points, capacity, goal: relayGoal, cpuGoal, scaling: scaling.map((p) => p.sessions), runs: input.relay.runs };
    const shown = points.filter((p) => input.relay!.sessions.includes(p.sessions));
    lines.push(
      `**Relay** — N sessions each streaming 24 kHz PCM16 in 20 ms frames (50 frames/s each way) to an echo upstream in its own process (OpenAI GA wire), ${plan.relayWindowMs / 1000} s windows after ${plan.relayWarmupMs / 1000} s warm-up. ` +
        '*direct*: the load generator talks to the upstream itself (the baseline); *pass-through*: a plain `ws` relay that copies frames without parsing (the floor); *gateway*: this module (Express, in-memory tickets, `openai` provider). ' +
        'Added latency = relay round trip − direct round trip, same percentile, same round.',
      '',
      '| N | direct p50 / p99 / max ms | pass-through added p50 / p99 / max | gateway added p50 / p99 / max | gateway ÷ pass-through p50 | p99 | gateway CPU per session | gateway RSS per session | frames lost (pt / gw) |',
      '|--:|---|---|---|--:|--:|--:|--:|---|',
      ...shown.map(
        (p) =>
          `| ${p.sessions} | ${fmt(p.direct.p50)} / ${fmt(p.direct.p99)} / ${fmt(p.direct.max, 1)} | ${fmt(p.passthroughAdded.p50)} / ${fmt(p.passthroughAdded.p99)} / ${fmt(p.passthroughAdded.max, 1)} | ` +
          `${fmt(p.gatewayAdded.p50)} / ${fmt(p.gatewayAdded.p99)} / ${fmt(p.gatewayAdded.max, 1)} | ${fmt(p.ratioP50)} | ${fmt(p.ratioP99)} | ` +
          `${fmt(p.gatewayCpuPctPerSession, 3)} % core | ${fmt(p.gatewayKbPerSession, 0)} KB | ${fmt(p.lossPct.passthrough)} % / ${fmt(p.lossPct.gateway)} % |`,
      ),
      '',
      relayGoal
        ? `Goal at ${relayGoal.sessions} sessions, gateway added latency ≤ ${GOALS.relayAddedRatio}× the pass-through's: p50 ${fmt(relayGoal.ratioP50)}×, p99 ${fmt(relayGoal.ratioP99)}× — ${met(relayGoal.met)}.`
        : `Goal at ${GOALS.relayGoalSessions} sessions: not measured in this run.`,
      '',
      `**Capacity** (${capacity.definition}; measured N: ${points.map((p) => p.sessions).join(', ')}): pass-through ${describeCapacity(capacity.passthrough)}, gateway ${describeCapacity(capacity.gateway)} → ratio ${fmt(capacity.ratio)} (goal ≥ ${GOALS.capacityRatio}) — ${met(capacity.met)}.`,
      '',
      '| N | pass-through round trip p50 / p99 | gateway round trip p50 / p99 | pass-through CPU | gateway CPU | load generator CPU, send lag p99 |',
      '|--:|---|---|--:|--:|---|',
      ...points.map(
        (p) =>
          `| ${p.sessions} | ${fmt(p.passthroughRtt.p50)} / ${fmt(p.passthroughRtt.p99)} | ${fmt(p.gatewayRtt.p50)} / ${fmt(p.gatewayRtt.p99)} | ${fmt(p.passthroughCpuPctPerSession * p.sessions, 0)} % | ${fmt(p.gatewayCpuPctPerSession * p.sessions, 0)} % | ${p.clientCpuPct} %, ${fmt(p.clientLagP99)} ms |`,
      ),
      '',
      ...(scaling.length
        ? [
            `**Scaling** — what one streaming session costs as N grows (50 frames/s each way per session). CPU per session = the relay process's CPU in the window ÷ N (% of one core), medians over rounds; ` +
              `"≥" marks a saturated sample (CPU ≥ ${GOALS.saturatedCpuPct} % of a core or frames lost in most rounds): the relay could not do all the work, so the figure is a lower bound. ` +
              'CPU per frame ratio = gateway CPU ÷ pass-through CPU in the same round (both relay the same frames). RSS per streaming session = RSS at the end of the window minus before the sessions opened (after GC), ÷ N: in-flight buffers and uncollected garbage included.',
            '',
            '| N | gateway CPU per session | pass-through CPU per session | gateway ÷ pass-through CPU per frame | gateway RSS per streaming session | pass-through RSS per session |',
            '|--:|--:|--:|--:|--:|--:|',
            ...scaling.map(
              (p) =>
                `| ${p.sessions} | ${p.gatewaySaturated ? '≥ ' : ''}${fmt(p.gatewayCpuPctPerSession, 3)} % | ${p.passthroughSaturated ? '≥ ' : ''}${fmt(p.passthroughCpuPctPerSession, 3)} % | ` +
                `${p.gatewaySaturated || p.passthroughSaturated ? `(${fmt(p.cpuRatio)}, saturated)` : fmt(p.cpuRatio)} | ${fmt(p.gatewayKbPerSession, 0)} KB | ${fmt(p.passthroughKbPerSession, 0)} KB |`,
            ),
            '',
          ]
        : []),
      '**Relay goals** (issue 12; ratios within this run):',
      '',
      '| goal | figure | result |',
      '|---|---|---|',
      cpuGoal
        ? `| gateway CPU per relayed frame ≤ ${GOALS.relayCpuRatio}× the pass-through's at ${cpuGoal.sessions} sessions | ${fmt(cpuGoal.ratio)}× | ${met(cpuGoal.met)} |`
        : `| gateway CPU per relayed frame ≤ ${GOALS.relayCpuRatio}× the pass-through's at ${GOALS.relayCpuGoalSessions} sessions | not measured | n/a |`,
      relayGoal
        ? `| added latency at ${relayGoal.sessions} sessions ≤ ${GOALS.relayAddedRatio}× the pass-through's (p50 and p99) | p50 ${fmt(relayGoal.ratioP50)}×, p99 ${fmt(relayGoal.ratioP99)}× | ${met(relayGoal.met)} |`
        : `| added latency at ${GOALS.relayGoalSessions} sessions ≤ ${GOALS.relayAddedRatio}× the pass-through's (p50 and p99) | not measured | n/a |`,
      `| capacity (sessions before p99 round trip > ${GOALS.framePeriodMs} ms) ≥ ${GOALS.capacityRatio}× the pass-through's | ${describeCapacity(capacity.gateway)} vs ${describeCapacity(capacity.passthrough)}${Number.isFinite(capacity.ratio) ? ` = ${fmt(capacity.ratio)}×` : ''} | ${met(capacity.met)} |`,
      '',
      '',
    );
  }
  if (input.memory) {
    json.memory = input.memory;
    lines.push(
      '**Memory** — gateway process, after full GC, before and after opening the sessions / minting the tickets.',
      '',
      '| what | per item | goal |',
      '|---|--:|---|',
      ...input.memory.idle.map(
        (m) =>
          `| idle session, ${m.model}, ${m.opened} open | ${fmt(m.heapPerSession / 1024, 1)} KB heap+external, ${fmt(m.rssPerSession / 1024, 1)} KB RSS | ` +
          // The goal is the session with its upstream socket; the in-process loopback has none.
          `${m.model.startsWith('loopback/') ? '—' : `heap+external ≤ ${GOALS.idleSessionBytes / 1024} KB: ${met(m.heapPerSession <= GOALS.idleSessionBytes)}`} |`,
      ),
      ...input.memory.tickets.map((t) => `| outstanding ticket, ${t.store}, ${t.tickets.toLocaleString('en-US')} tickets | ${fmt(t.bytesPerTicket, 0)} B (${t.where}) | — |`),
      '',
    );
  }
  return { markdown: lines.join('\n'), json };
}
