// The warm-pool scenario (`npm run bench -- --only warm-pool`): time from `session.start` to
// `session.started` through the gateway, with and without warm upstreams (module option
// `warmUpstreams`), against the echo upstream answering every upgrade 300 ms late (a provider's
// connect time). Sessions run one at a time, 400 ms apart (a hand-out's refill takes the same
// 300 ms), on two gateways (Express, in-memory tickets) that differ only in the option; the two
// variants alternate which goes first in each round. The ticket is minted and the client socket
// opened before the clock starts: only what `session.start` waits for is measured.
import WebSocket from 'ws';
import { BENCH_KEY, MINT_BODY_LONG_TTL } from './lib/config.js';
import type { Child } from './lib/ipc.js';
import { median, ratio, round, sleep } from './lib/stats.js';
import type { ServerConfig } from './server.js';

export const WARM_POOL_CONNECT_DELAY_MS = 300;
const GAP_MS = 400;
const POOL_SIZE = 2;

export type WarmVariant = 'cold' | 'warm';

export interface WarmPoolResult {
  connectDelayMs: number;
  sessionsPerRound: number;
  rounds: number;
  poolSize: number;
  /** Every sample (ms), per variant, in order. */
  samples: Record<WarmVariant, number[]>;
  /** Sessions the warm gateway's pool served (out of all its sessions). */
  handedOut: number;
  failures: number;
}

interface Env {
  start(name: string, file: string, config: object): Promise<Child>;
  stop(...children: Child[]): Promise<void>;
  log(message: string): void;
  rounds: number;
  sessionsPerRound: number;
}

export async function warmPoolPhase(env: Env): Promise<WarmPoolResult> {
  const echo = await env.start('echo upstream (300 ms connect)', 'echo-upstream', { connectDelayMs: WARM_POOL_CONNECT_DELAY_MS });
  const base: ServerConfig = { platform: 'express', store: 'memory', openaiBaseUrl: `http://127.0.0.1:${echo.ready.port}/v1` };
  const [cold, warm] = await Promise.all([
    env.start('gateway (no warm pool)', 'server', base),
    env.start('gateway (warm pool)', 'server', { ...base, warmUpstreams: { size: POOL_SIZE, idleSeconds: 30, models: ['openai/gpt-realtime-2'] } } satisfies ServerConfig),
  ]);
  const gateways: Record<WarmVariant, Child> = { cold, warm };
  const result: WarmPoolResult = {
    connectDelayMs: WARM_POOL_CONNECT_DELAY_MS,
    sessionsPerRound: env.sessionsPerRound,
    rounds: env.rounds,
    poolSize: POOL_SIZE,
    samples: { cold: [], warm: [] },
    handedOut: 0,
    failures: 0,
  };
  // The warm gateway's pool fills (one connect delay) before anything is measured; one session
  // each warms the code paths.
  await sleep(WARM_POOL_CONNECT_DELAY_MS * 3);
  for (const variant of ['cold', 'warm'] as const) await oneSession(gateways[variant].ready.port!);
  const servedBefore = (await warm.call<{ handedOut: number }>('warmStats')).handedOut;
  for (let r = 0; r < env.rounds; r++) {
    const order: WarmVariant[] = r % 2 === 0 ? ['cold', 'warm'] : ['warm', 'cold'];
    for (const variant of order) {
      const times: number[] = [];
      for (let i = 0; i < env.sessionsPerRound; i++) {
        await sleep(GAP_MS);
        try {
          times.push(await oneSession(gateways[variant].ready.port!));
        } catch (err) {
          result.failures += 1;
          env.log(`warm pool: ${variant} session failed: ${(err as Error).message}`);
        }
      }
      result.samples[variant].push(...times);
      env.log(`warm pool round ${r + 1} ${variant}: session.start → session.started median ${round(median(times), 1)} ms, max ${round(Math.max(...times), 1)} ms`);
    }
  }
  result.handedOut = (await warm.call<{ handedOut: number }>('warmStats')).handedOut - servedBefore;
  await env.stop(cold, warm, echo);
  return result;
}

/** Mint, connect (not timed), then `session.start` → `session.started` (timed, ms). */
async function oneSession(port: number): Promise<number> {
  const minted = await fetch(`http://127.0.0.1:${port}/v3/realtime-sessions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${BENCH_KEY}`, 'Content-Type': 'application/json' },
    body: MINT_BODY_LONG_TTL,
  });
  if (minted.status !== 200 && minted.status !== 201) throw new Error(`mint answered ${minted.status}`);
  const { client_secret: secret } = (await minted.json()) as { client_secret: string };
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v3/realtime`, ['opper-realtime.v1', `opper-ticket.${secret}`]);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no session.started within 10 s')), 10_000);
      ws.on('message', (data) => {
        const event = JSON.parse(String(data)) as { type: string; error?: { code: string } };
        if (event.type === 'session.started') {
          clearTimeout(timer);
          resolve(performance.now() - startedAt);
        } else if (event.type === 'error' || event.type === 'session.terminating') {
          clearTimeout(timer);
          reject(new Error(`${event.type} ${event.error?.code ?? ''}`));
        }
      });
      const startedAt = performance.now();
      ws.send(JSON.stringify({ type: 'session.start', config: {} }));
    });
  } finally {
    ws.close(1000);
  }
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN;
};

export function renderWarmPool(result: WarmPoolResult): { markdown: string[]; json: object } {
  const row = (variant: WarmVariant) => {
    const s = result.samples[variant];
    return { sessions: s.length, p50: round(median(s), 1), p90: round(percentile(s, 90), 1), max: round(Math.max(...s), 1) };
  };
  const cold = row('cold');
  const warm = row('warm');
  const saved = round(cold.p50 - warm.p50, 1);
  const json = { ...result, cold, warm, savedMsP50: saved, ratioP50: round(ratio(warm.p50, cold.p50), 3) };
  const markdown = [
    `**Warm upstreams** — \`session.start\` → \`session.started\` through the gateway (Express, in-memory tickets, \`openai\` provider) against the echo upstream answering every upgrade ${result.connectDelayMs} ms late; ` +
      `${result.sessionsPerRound} sessions per variant per round, one at a time, ${GAP_MS} ms apart; the warm gateway keeps ${result.poolSize} sockets (\`warmUpstreams: {size: ${result.poolSize}}\`).`,
    '',
    '| variant | sessions | p50 ms | p90 ms | max ms |',
    '|---|--:|--:|--:|--:|',
    `| no warm pool | ${cold.sessions} | ${cold.p50} | ${cold.p90} | ${cold.max} |`,
    `| warm pool | ${warm.sessions} | ${warm.p50} | ${warm.p90} | ${warm.max} |`,
    '',
    `The pool served ${result.handedOut} of the warm gateway's ${warm.sessions} measured sessions; p50 saved: ${saved} ms (warm / cold ${json.ratioP50})${result.failures ? `; ${result.failures} sessions FAILED` : ''}.`,
    '',
  ];
  return { markdown, json };
}
