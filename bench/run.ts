// `npm run bench` (and `npm run bench -- --quick`): the gateway against its baselines, as ratios,
// with baseline and gateway samples interleaved in one run, at least three rounds each, medians.
//
//   1. minting        POST /v3/realtime-sessions vs a bare route (same app, adapter, bearer guard)
//   2. redemption     upgrade + ticket redemption vs a bare ws upgrade on the same server
//   3. relay          N streaming sessions: gateway vs pass-through relay vs direct to the upstream
//   4. memory         bytes per idle session (1,000), bytes per outstanding ticket (100,000)
//   5. warm-pool      session.start → session.started with and without warm upstreams (bench/warm-pool.ts)
//
// Every server, the upstream and the relay load generator are separate processes; the HTTP and
// upgrade load generators run here. See README "Performance" for what each figure means.
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RelaySample, RunArgs, Variant } from './relay-client.js';
import type { ServerConfig } from './server.js';
import { BENCH_KEY, MINT_BODY, MINT_BODY_LONG_TTL } from './lib/config.js';
import { runHttpLoad, type HttpSample } from './lib/http-load.js';
import { cpuPercent, ForeignLoad, readCpu, settle, spawnChild, type Child, type CpuReading, type ProcessStats } from './lib/ipc.js';
import { startBenchRedis, type BenchRedis } from './lib/redis-server.js';
import { round, sleep } from './lib/stats.js';
import { mintTickets, runUpgradeLoad, type UpgradeSample } from './lib/upgrade-load.js';
import { renderReport } from './lib/report.js';
import { renderWarmPool, warmPoolPhase, type WarmPoolResult } from './warm-pool.js';

const here = dirname(fileURLToPath(import.meta.url)); // bench/.build/bench
const projectRoot = join(here, '..', '..', '..');
const resultsDir = join(projectRoot, 'bench', 'results');

// ── options ───────────────────────────────────────────────────────────────────────────────────

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = flag('quick');
const ALL_PHASES = 'mint,redeem,relay,memory,warm-pool';
const phases = new Set((option('only') ?? ALL_PHASES).split(','));
// `--profile=gateway,passthrough,echo,client`: those processes run with --cpu-prof (bench/results/profiles/).
const profiled = new Set((option('profile') ?? '').split(',').filter(Boolean));

export interface Plan {
  mode: 'full' | 'quick';
  rounds: number;
  mintSeconds: number;
  mintConnections: number;
  upgrades: number;
  upgradeConcurrency: number;
  relaySessions: number[];
  capacitySessions: number[];
  /** The scaling curve: gateway and pass-through CPU and RSS per streaming session at each N. */
  scalingSessions: number[];
  relayWarmupMs: number;
  relayWindowMs: number;
  relayDrainMs: number;
  idleSessions: number;
  tickets: number;
}

const plan: Plan = quick
  ? {
      mode: 'quick',
      rounds: 3,
      mintSeconds: 0.8,
      mintConnections: 16,
      upgrades: 600,
      upgradeConcurrency: 16,
      relaySessions: [200],
      capacitySessions: [],
      // 100: the CPU-per-frame goal's point; 200: the latency goal's.
      scalingSessions: [100, 200],
      relayWarmupMs: 500,
      relayWindowMs: 1500,
      relayDrainMs: 600,
      idleSessions: 1000,
      tickets: 100_000,
    }
  : {
      mode: 'full',
      rounds: Number(option('rounds') ?? 3),
      mintSeconds: 5,
      mintConnections: 16,
      upgrades: 3000,
      upgradeConcurrency: 16,
      relaySessions: [50, 200, 500, 1000],
      capacitySessions: [100, 150, 250, 300],
      scalingSessions: [10, 50, 100, 150, 200],
      relayWarmupMs: 2000,
      relayWindowMs: 8000,
      relayDrainMs: 2000,
      idleSessions: 1000,
      tickets: 100_000,
    };
if (option('sessions')) plan.relaySessions = option('sessions')!.split(',').map(Number);
if (option('scaling') !== undefined) plan.scalingSessions = option('scaling') ? option('scaling')!.split(',').map(Number) : [];
if (option('capacity') !== undefined) plan.capacitySessions = option('capacity') ? option('capacity')!.split(',').map(Number) : [];
if (option('rounds')) plan.rounds = Number(option('rounds'));
if (plan.rounds < 3) throw new Error('--rounds must be at least 3');

const script = (name: string) => join(here, `${name}.js`);
let profileCount = 0;
const profileArgs = (name: string) =>
  profiled.has(name) ? ['--cpu-prof', `--cpu-prof-dir=${join(resultsDir, 'profiles')}`, `--cpu-prof-name=${name}-${Date.now()}-${(profileCount += 1)}.cpuprofile`] : [];
// `--configs=fastify/memory,express/redis`: only these platform/store pairs for minting and redemption.
const onlyConfigs = option('configs')?.split(',');
const children = new Set<Child>();
let redis: BenchRedis | undefined;

async function start(name: string, file: string, config: object, execArgv: string[] = []): Promise<Child> {
  const child = await spawnChild(name, script(file), config, { execArgv });
  children.add(child);
  return child;
}

async function stop(...list: Child[]): Promise<void> {
  await Promise.all(list.map(async (c) => {
    children.delete(c);
    await c.stop();
  }));
}

function log(message: string): void {
  const elapsed = ((performance.now() - startedAt) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[${elapsed}s] ${message}\n`);
}

const startedAt = performance.now();

/** The benchmark's own processes: this one (the HTTP and upgrade load generator), every child, Redis. */
function benchPids(): number[] {
  return [process.pid, ...[...children].map((c) => c.proc.pid!), ...(redis?.pid ? [redis.pid] : [])];
}

/**
 * Runs one sample once the machine is quiet, and records how much CPU other processes (not this
 * benchmark) used meanwhile, in % of one core: a busy machine is reported, not hidden.
 */
async function measured<T extends object>(fn: () => Promise<T>, server?: Child): Promise<T & { foreignCpuPct: number; serverCpuPct: number }> {
  const pids = benchPids();
  await settle(pids.filter((pid) => pid !== process.pid));
  const foreign = new ForeignLoad(pids);
  const cpuBefore = server ? readCpu(server.proc.pid!) : undefined;
  const result = await fn();
  const serverCpuPct = server ? round(cpuPercent(cpuBefore!, readCpu(server.proc.pid!)), 1) : NaN;
  return { ...result, foreignCpuPct: round(foreign.read(), 1), serverCpuPct };
}

/** Baseline first in odd rounds, gateway first in even ones. */
function order<T>(round: number, pair: [T, T]): [T, T] {
  return round % 2 === 0 ? pair : [pair[1], pair[0]];
}

// ── 1 + 2: minting and redemption ─────────────────────────────────────────────────────────────

export interface HttpConfigResult {
  platform: string;
  store: string;
  gateway: HttpSample[];
  baseline: HttpSample[];
}

async function startServers(): Promise<Array<{ config: ServerConfig; child: Child }>> {
  const configs: ServerConfig[] = [];
  for (const store of ['memory', 'redis'] as const) {
    if (store === 'redis' && !redis) continue;
    for (const platform of ['express', 'fastify'] as const) {
      if (!onlyConfigs || onlyConfigs.includes(`${platform}/${store}`)) configs.push({ platform, store, redisUrl: redis?.url });
    }
  }
  return Promise.all(
    configs.map(async (config) => ({
      config,
      // openai is configured (unreachable) so tickets can bind openai/gpt-realtime-2.
      child: await start(`server ${config.platform}/${config.store}`, 'server', { ...config, openaiBaseUrl: 'http://127.0.0.1:9/v1' }, profileArgs('gateway')),
    })),
  );
}

async function mintPhase(servers: Array<{ config: ServerConfig; child: Child }>): Promise<HttpConfigResult[]> {
  const results: HttpConfigResult[] = servers.map(({ config }) => ({ platform: config.platform, store: config.store, gateway: [], baseline: [] }));
  const headers = { Authorization: `Bearer ${BENCH_KEY}`, 'Content-Type': 'application/json' };
  const load = (port: number, path: string, seconds: number) =>
    runHttpLoad({ url: `http://127.0.0.1:${port}${path}`, headers, body: MINT_BODY, connections: plan.mintConnections, seconds });
  log('minting: warm-up');
  for (const { child } of servers) {
    await load(child.ready.port!, '/bench/bare', quick ? 0.3 : 2);
    await load(child.ready.port!, '/v3/realtime-sessions', quick ? 0.3 : 2);
  }
  for (let r = 0; r < plan.rounds; r++) {
    for (const [i, { child, config }] of servers.entries()) {
      for (const which of order(r, ['baseline', 'gateway'] as const)) {
        const sample = await measured(() => load(child.ready.port!, which === 'gateway' ? '/v3/realtime-sessions' : '/bench/bare', plan.mintSeconds), child);
        results[i][which].push(sample);
        log(`minting round ${r + 1} ${config.platform}/${config.store} ${which}: ${sample.rate.toFixed(0)} req/s, p99 ${sample.latency.p99} ms, server CPU ${sample.serverCpuPct}% (${(sample.serverCpuPct * 10 / sample.rate * 1000).toFixed(0)} µs/request), other processes ${sample.foreignCpuPct}%${sample.failures ? `, ${sample.failures} FAILED (${sample.firstFailureStatus})` : ''}`);
      }
    }
  }
  return results;
}

export interface UpgradeConfigResult {
  platform: string;
  store: string;
  gateway: UpgradeSample[];
  baseline: UpgradeSample[];
}

async function redeemPhase(servers: Array<{ config: ServerConfig; child: Child }>): Promise<UpgradeConfigResult[]> {
  const results: UpgradeConfigResult[] = servers.map(({ config }) => ({ platform: config.platform, store: config.store, gateway: [], baseline: [] }));
  const bareSecret = 'x'.repeat(43);
  const sample = async (server: Child, which: 'gateway' | 'baseline', count: number) => {
    const port = server.ready.port!;
    if (which === 'baseline') {
      return measured(() => runUpgradeLoad({
        port,
        path: '/bench/ws',
        protocols: () => `opper-realtime.v1, opper-ticket.${bareSecret}`,
        count,
        concurrency: plan.upgradeConcurrency,
        maxSeconds: 60,
      }), server);
    }
    const secrets = await mintTickets(port, BENCH_KEY, MINT_BODY_LONG_TTL, count);
    return measured(() => runUpgradeLoad({
      port,
      path: '/v3/realtime',
      protocols: (i) => `opper-realtime.v1, opper-ticket.${secrets[i]}`,
      count,
      concurrency: plan.upgradeConcurrency,
      maxSeconds: 60,
    }), server);
  };
  log('redemption: warm-up');
  for (const { child } of servers) {
    await sample(child, 'baseline', quick ? 400 : 2000);
    await sample(child, 'gateway', quick ? 400 : 2000);
  }
  for (let r = 0; r < plan.rounds; r++) {
    for (const [i, { child, config }] of servers.entries()) {
      for (const which of order(r, ['baseline', 'gateway'] as const)) {
        const s = await sample(child, which, plan.upgrades);
        results[i][which].push(s);
        log(`redemption round ${r + 1} ${config.platform}/${config.store} ${which}: ${s.rate.toFixed(0)} upgrades/s, p99 ${s.latency.p99} ms, server CPU ${s.serverCpuPct}% (${(s.serverCpuPct * 10 / s.rate * 1000).toFixed(0)} µs/upgrade), other processes ${s.foreignCpuPct}%${s.failures ? `, ${s.failures} FAILED (${s.firstFailure})` : ''}`);
      }
    }
  }
  return results;
}

// ── 3: relay ──────────────────────────────────────────────────────────────────────────────────

export interface RelayRun extends RelaySample {
  round: number;
  /** CPU of the relay process (gateway or pass-through; the upstream for direct) during the window, % of one core. */
  relayCpuPct: number;
  upstreamCpuPct: number;
  /** CPU used by processes outside the benchmark during the window (% of one core). */
  foreignCpuPct: number;
  /** Heap of the relay process before the sessions opened (after GC), MB. */
  relayHeapBeforeMB: number;
  /** Relay process memory once the window ended (sessions still open) minus before they opened (after GC), per session. */
  relayBytesPerSession: { rss: number; heap: number };
}

async function relayPhase(): Promise<{ runs: RelayRun[]; sessions: number[]; capacitySessions: number[]; scalingSessions: number[] }> {
  const echo = await start('echo upstream', 'echo-upstream', {}, profileArgs('echo'));
  const echoUrl = `ws://127.0.0.1:${echo.ready.port}`;
  const [passthrough, gateway, client] = await Promise.all([
    start('pass-through relay', 'passthrough', { upstream: echoUrl }, profileArgs('passthrough')),
    start('gateway', 'server', { platform: 'express', store: 'memory', openaiBaseUrl: `http://127.0.0.1:${echo.ready.port}/v1` } satisfies ServerConfig, profileArgs('gateway')),
    start('relay load generator', 'relay-client', {}, profileArgs('client')),
  ]);
  const ports: Record<Variant, number> = { direct: echo.ready.port!, passthrough: passthrough.ready.port!, gateway: gateway.ready.port! };
  const relayOf: Record<Variant, Child> = { direct: echo, passthrough, gateway };
  const runs: RelayRun[] = [];

  const pids = [echo, passthrough, gateway, client].map((c) => c.proc.pid!);

  const runOne = async (variant: Variant, sessions: number, roundIndex: number, timing = plan): Promise<RelayRun> => {
    const relay = relayOf[variant];
    // The previous sample's backlog (a saturated relay keeps working after its clients left) must
    // not leak into this one.
    await settle(pids);
    const before = await relay.gcStats();
    const readings: Array<{ relay: CpuReading; echo: CpuReading }> = [];
    let foreign: ForeignLoad | undefined;
    let foreignCpuPct = NaN;
    const off = client.onMessage((message) => {
      if (message.type !== 'window') return;
      readings.push({ relay: readCpu(relay.proc.pid!), echo: readCpu(echo.proc.pid!) });
      if (message.phase === 'start') foreign = new ForeignLoad(benchPids());
      else if (foreign) foreignCpuPct = round(foreign.read(), 1);
    });
    const args: RunArgs = {
      variant,
      port: ports[variant],
      sessions,
      mintBody: MINT_BODY_LONG_TTL,
      warmupMs: timing.relayWarmupMs,
      windowMs: timing.relayWindowMs,
      drainMs: timing.relayDrainMs,
    };
    const sample = await client.call<RelaySample>('run', args as unknown as Record<string, unknown>, 300_000);
    off();
    const after = await relay.stats();
    const [start, end] = readings;
    const n = Math.max(1, sample.opened);
    return {
      ...sample,
      round: roundIndex,
      foreignCpuPct,
      relayHeapBeforeMB: round(before.heapUsed / 2 ** 20, 1),
      relayCpuPct: start && end ? cpuPercent(start.relay, end.relay) : NaN,
      upstreamCpuPct: start && end ? cpuPercent(start.echo, end.echo) : NaN,
      relayBytesPerSession: { rss: (after.rss - before.rss) / n, heap: (after.heapUsed + after.external - before.heapUsed - before.external) / n },
    };
  };

  log('relay: warm-up');
  for (const variant of ['direct', 'passthrough', 'gateway'] as const) {
    await runOne(variant, 100, -1, { ...plan, relayWarmupMs: 300, relayWindowMs: quick ? 500 : 3000, relayDrainMs: 500 });
  }
  const variants: Variant[] = ['direct', 'passthrough', 'gateway'];
  const allSessions = [...new Set([...plan.relaySessions, ...plan.capacitySessions, ...plan.scalingSessions])].sort((a, b) => a - b);
  for (let r = 0; r < plan.rounds; r++) {
    for (const sessions of allSessions) {
      // Rotate which variant goes first so none always runs on a cooler (or warmer) machine.
      const rotated = variants.map((_, k) => variants[(k + r) % variants.length]);
      for (const variant of rotated) {
        const run = await runOne(variant, sessions, r);
        runs.push(run);
        const l = run.latency;
        log(
          `relay round ${r + 1} N=${sessions} ${variant}: p50 ${l.p50} p99 ${l.p99} max ${l.max} ms, lost ${run.lost}/${run.sent}, skipped ${run.skipped}, ` +
            `relay cpu ${run.relayCpuPct.toFixed(0)}%, upstream ${run.upstreamCpuPct.toFixed(0)}%, client ${run.clientCpuPct.toFixed(0)}% (lag p99 ${run.sendLag.p99} ms), other processes ${run.foreignCpuPct}%, relay heap ${run.relayHeapBeforeMB} MB` +
            (run.openFailures ? `, ${run.openFailures} FAILED to open (${run.firstOpenFailure})` : '') +
            (Object.keys(run.otherEvents).length ? `, other events ${JSON.stringify(run.otherEvents)}` : ''),
        );
      }
    }
  }
  await stop(client, gateway, passthrough, echo);
  return { runs, sessions: plan.relaySessions, capacitySessions: allSessions, scalingSessions: plan.scalingSessions };
}

// ── 4: memory ─────────────────────────────────────────────────────────────────────────────────

export interface MemoryResult {
  idle: Array<{ model: string; sessions: number; opened: number; heapPerSession: number; rssPerSession: number }>;
  tickets: Array<{ store: string; tickets: number; bytesPerTicket: number; rssPerTicket?: number; where: string }>;
}

async function memoryPhase(): Promise<MemoryResult> {
  const result: MemoryResult = { idle: [], tickets: [] };
  const echo = await start('echo upstream', 'echo-upstream', {});
  const client = await start('relay load generator', 'relay-client', {});
  for (const [model, body] of [
    ['openai/gpt-realtime-2 (with its upstream socket to the echo)', MINT_BODY_LONG_TTL],
    ['loopback/echo (in-process, no upstream socket)', JSON.stringify({ config: { model: 'loopback/echo' }, ttl_seconds: 300 })],
  ] as const) {
    // A fresh gateway for each, so nothing of an earlier measurement is still being released.
    const gateway = await start('gateway', 'server', { platform: 'express', store: 'memory', openaiBaseUrl: `http://127.0.0.1:${echo.ready.port}/v1` } satisfies ServerConfig);
    // Warm the code paths once so the measurement does not include lazily compiled code.
    await client.call('openIdle', { variant: 'gateway', port: gateway.ready.port, sessions: 20, mintBody: body });
    await client.call('closeAll');
    await sleep(2200); // upstream sockets are let go 2 s after a close
    const before = await gateway.gcStats();
    const opened = await client.call<{ opened: number; failures: number; firstFailure?: string }>(
      'openIdle',
      { variant: 'gateway', port: gateway.ready.port, sessions: plan.idleSessions, mintBody: body },
      120_000,
    );
    await sleep(500);
    const after = await gateway.gcStats();
    await client.call('closeAll');
    await stop(gateway);
    const n = Math.max(1, opened.opened);
    const heap = (after.heapUsed + after.external - before.heapUsed - before.external) / n;
    const rss = (after.rss - before.rss) / n;
    result.idle.push({ model, sessions: plan.idleSessions, opened: opened.opened, heapPerSession: heap, rssPerSession: rss });
    log(`memory: ${opened.opened} idle sessions, ${model}: ${(heap / 1024).toFixed(1)} KB heap+external, ${(rss / 1024).toFixed(1)} KB RSS per session${opened.failures ? `, ${opened.failures} FAILED (${opened.firstFailure})` : ''}`);
  }
  await stop(client, echo);

  for (const store of ['memory', 'redis'] as const) {
    if (store === 'redis' && !redis) continue;
    const server = await start(`server express/${store}`, 'server', { platform: 'express', store, redisUrl: redis?.url, openaiBaseUrl: 'http://127.0.0.1:9/v1' } satisfies ServerConfig);
    const t = await server.call<{ n: number; before: ProcessStats; after: ProcessStats; redisBefore: number; redisAfter: number; stored?: number }>(
      'ticketMemory',
      { n: plan.tickets },
      300_000,
    );
    await stop(server);
    if (store === 'memory') {
      const bytes = (t.after.heapUsed + t.after.external - t.before.heapUsed - t.before.external) / t.n;
      result.tickets.push({ store, tickets: t.n, bytesPerTicket: bytes, rssPerTicket: (t.after.rss - t.before.rss) / t.n, where: 'gateway heap (InMemoryTicketRepository)' });
      log(`memory: ${t.n} tickets in memory (${t.stored} stored): ${bytes.toFixed(0)} B per ticket`);
    } else {
      const bytes = (t.redisAfter - t.redisBefore) / t.n;
      result.tickets.push({ store, tickets: t.n, bytesPerTicket: bytes, where: 'Redis used_memory' });
      log(`memory: ${t.n} tickets in Redis: ${bytes.toFixed(0)} B per ticket`);
    }
  }
  return result;
}

// ── main ──────────────────────────────────────────────────────────────────────────────────────

function machine() {
  const cpus = os.cpus();
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: projectRoot, encoding: 'utf8' }).trim();
    if (execSync('git status --porcelain -- src', { cwd: projectRoot, encoding: 'utf8' }).trim()) commit += ' + uncommitted changes in src/';
  } catch {
    // not a git checkout
  }
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    commit,
  };
}

async function main(): Promise<void> {
  const startedIso = new Date().toISOString();
  log(`bench (${plan.mode}): phases ${[...phases].join(', ')}; ${plan.rounds} rounds`);
  if (phases.has('mint') || phases.has('redeem') || phases.has('memory')) {
    redis = await startBenchRedis();
    log(redis ? `Redis: ${redis.description}` : 'Redis: no redis-server and no REDIS_URL, Redis rows skipped');
  }
  let mint: HttpConfigResult[] | undefined;
  let redeem: UpgradeConfigResult[] | undefined;
  // Fresh servers for each phase: the tickets minting leaves in memory (alive for 60 s) would
  // otherwise weigh on the redemption samples' garbage collection.
  if (phases.has('mint')) {
    const servers = await startServers();
    mint = await mintPhase(servers);
    await stop(...servers.map((s) => s.child));
  }
  if (phases.has('redeem')) {
    const servers = await startServers();
    redeem = await redeemPhase(servers);
    await stop(...servers.map((s) => s.child));
  }
  const relay = phases.has('relay') ? await relayPhase() : undefined;
  const memory = phases.has('memory') ? await memoryPhase() : undefined;
  const warmPool: WarmPoolResult | undefined = phases.has('warm-pool')
    ? await warmPoolPhase({ start, stop, log, rounds: plan.rounds, sessionsPerRound: quick ? 10 : 30 })
    : undefined;
  await redis?.stop();

  const report = renderReport({
    plan,
    machine: machine(),
    startedAt: startedIso,
    seconds: round((performance.now() - startedAt) / 1000, 1),
    redis: redis?.description,
    mint,
    redeem,
    relay,
    memory,
  });
  if (warmPool) {
    const warm = renderWarmPool(warmPool);
    report.markdown += '\n' + warm.markdown.join('\n');
    (report.json as Record<string, unknown>).warmPool = warm.json;
  }
  mkdirSync(resultsDir, { recursive: true });
  const file = option('out') ?? join(resultsDir, 'latest.json');
  writeFileSync(file, JSON.stringify(report.json, null, 2) + '\n');
  writeFileSync(file.replace(/\.json$/, '.md'), report.markdown + '\n');
  // A complete full run is also kept as the one the README's Performance section shows.
  if (!quick && !option('out') && phases.size === ALL_PHASES.split(',').length) {
    writeFileSync(join(resultsDir, 'full.json'), JSON.stringify(report.json, null, 2) + '\n');
    writeFileSync(join(resultsDir, 'full.md'), report.markdown + '\n');
  }
  process.stdout.write(report.markdown + '\n');
  log(`wrote ${file}`);
}

async function cleanup(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop()));
  await redis?.stop();
}

process.on('SIGINT', () => {
  void cleanup().finally(() => process.exit(130));
});

main()
  .catch(async (err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanup();
  });

