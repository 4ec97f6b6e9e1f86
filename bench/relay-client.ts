// The relay benchmark's load generator, in its own process. It opens N sessions — straight to the
// echo upstream (OpenAI wire), through the pass-through relay (OpenAI wire), or through the gateway
// (the gateway's protocol, with a ticket each) — then streams one 20 ms PCM16 frame per session
// every 20 ms, the sessions' phases spread evenly over the period, and measures each frame's round
// trip. Kept light on purpose: frames are built from a template (16 base64 characters change), the
// client's masking key is zero (ws then skips masking), and an echoed frame is read by a byte search
// for its audio field, never JSON-parsed.
import WebSocket from 'ws';
import { BENCH_KEY } from './lib/config.js';
import { FRAME_MS, FrameTemplate, StampReader } from './lib/frames.js';
import { childConfig, sendReady, serveCommands } from './lib/ipc.js';
import { newHistogram, sleep, summarize, type LatencySummary } from './lib/stats.js';
import { mintTickets } from './lib/upgrade-load.js';

export type Variant = 'direct' | 'passthrough' | 'gateway';

export interface OpenArgs {
  variant: Variant;
  port: number;
  sessions: number;
  /** Gateway only: the body tickets are minted with (it binds the model). */
  mintBody?: string;
  connectConcurrency?: number;
}

export interface RunArgs extends OpenArgs {
  warmupMs: number;
  windowMs: number;
  drainMs: number;
}

export interface RelaySample {
  variant: Variant;
  sessions: number;
  opened: number;
  openFailures: number;
  firstOpenFailure?: string;
  /** Frames sent inside the measurement window, and how many of them came back in time. */
  sent: number;
  received: number;
  lost: number;
  /** Frames not sent because the socket already held more than SKIP_ABOVE_BYTES. */
  skipped: number;
  latency: LatencySummary;
  /** How late the load generator sent frames against their schedule (its own lag). */
  sendLag: LatencySummary;
  /** CPU of this process during the window, in % of one core. */
  clientCpuPct: number;
  /** Non-audio events received during streaming, by type (errors would show here). */
  otherEvents: Record<string, number>;
  windowSeconds: number;
  closedCleanly: number;
}

const SKIP_ABOVE_BYTES = 256 * 1024;
const zeroMask = (mask: Buffer) => mask.fill(0);

const OPENAI_SESSION_UPDATE = JSON.stringify({
  type: 'session.update',
  session: {
    type: 'realtime',
    output_modalities: ['audio'],
    audio: {
      input: { format: { type: 'audio/pcm', rate: 24000 }, turn_detection: null },
      output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin' },
    },
  },
});

const wire = {
  openai: {
    template: new FrameTemplate('{"type":"input_audio_buffer.append","audio":"', '"}'),
    reader: new StampReader('delta'),
  },
  gateway: {
    template: new FrameTemplate('{"type":"audio.append","audio":"', '"}'),
    reader: new StampReader('audio'),
  },
};

let open: WebSocket[] = [];

function openOne(args: OpenArgs, secret: string | undefined): Promise<WebSocket> {
  return new Promise<WebSocket>((resolve, reject) => {
    const common = { perMessageDeflate: false, generateMask: zeroMask, handshakeTimeout: 20_000 };
    const ws =
      args.variant === 'gateway'
        ? new WebSocket(`ws://127.0.0.1:${args.port}/v3/realtime`, ['opper-realtime.v1', `opper-ticket.${secret}`], common)
        : new WebSocket(`ws://127.0.0.1:${args.port}/v1/realtime?model=gpt-realtime-2`, { ...common, headers: { Authorization: 'Bearer sk-bench' } });
    const timer = setTimeout(() => fail(new Error('session not ready within 30 s')), 30_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      ws.removeAllListeners('message');
      ws.terminate();
      reject(err);
    };
    ws.on('error', (err) => fail(err));
    ws.on('close', (code) => fail(new Error(`closed during setup (${code})`)));
    if (args.variant === 'gateway') ws.on('open', () => ws.send('{"type":"session.start","config":{}}'));
    ws.on('message', (data: Buffer) => {
      const event = JSON.parse(data.toString('utf8')) as { type: string; error?: { code?: string; message?: string } };
      if (event.type === 'session.created') ws.send(OPENAI_SESSION_UPDATE);
      else if (event.type === 'session.updated' || event.type === 'session.started') {
        clearTimeout(timer);
        ws.removeAllListeners('message');
        ws.removeAllListeners('close');
        ws.removeAllListeners('error');
        ws.on('error', () => undefined);
        resolve(ws);
      } else if (event.type === 'error' || event.type === 'session.terminating') {
        fail(new Error(`${event.type}: ${event.error?.code} ${event.error?.message}`));
      }
    });
  });
}

async function openSessions(args: OpenArgs): Promise<{ sockets: WebSocket[]; failures: number; firstFailure?: string }> {
  const secrets =
    args.variant === 'gateway' ? await mintTickets(args.port, BENCH_KEY, args.mintBody!, args.sessions, 16) : undefined;
  const sockets: WebSocket[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(args.connectConcurrency ?? 32, args.sessions) }, async () => {
      while (next < args.sessions) {
        const i = next++;
        try {
          sockets.push(await openOne(args, secrets?.[i]));
        } catch (err) {
          failures += 1;
          firstFailure ??= (err as Error).message;
        }
      }
    }),
  );
  return { sockets, failures, firstFailure };
}

async function closeAll(sockets: WebSocket[]): Promise<number> {
  let clean = 0;
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => {
            ws.terminate();
            resolve();
          }, 3000);
          ws.once('close', () => {
            clean += 1;
            clearTimeout(timer);
            resolve();
          });
          ws.close(1000);
        }),
    ),
  );
  return clean;
}

async function run(args: RunArgs): Promise<RelaySample> {
  const { sockets, failures, firstFailure } = await openSessions(args);
  open = sockets;
  const n = sockets.length;
  const { template, reader } = args.variant === 'gateway' ? wire.gateway : wire.openai;
  const hist = newHistogram();
  const lagHist = newHistogram();
  const otherEvents: Record<string, number> = {};
  let sent = 0;
  let received = 0;
  let skipped = 0;

  const t0 = performance.now() + 50;
  const windowStart = t0 + args.warmupMs;
  const windowEnd = windowStart + args.windowMs;
  const spacing = FRAME_MS / Math.max(1, n);

  for (const ws of sockets) {
    ws.on('message', (data: Buffer) => {
      const now = performance.now();
      const sentAt = reader.sentAt(data);
      if (Number.isNaN(sentAt)) {
        let type = 'unparsable';
        try {
          const event = JSON.parse(data.toString('utf8')) as { type?: string; error?: { code?: string } };
          type = event.error?.code ? `${event.type}:${event.error.code}` : String(event.type);
        } catch {
          // counted as unparsable
        }
        otherEvents[type] = (otherEvents[type] ?? 0) + 1;
        return;
      }
      if (sentAt >= windowStart && sentAt < windowEnd) {
        received += 1;
        hist.recordValue(Math.max(1, Math.round((now - sentAt) * 1000)));
      }
    });
  }

  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let cpuInWindow: NodeJS.CpuUsage | undefined;
  let j = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (!cpuAtStart && now >= windowStart) {
        cpuAtStart = process.cpuUsage();
        process.send?.({ type: 'window', phase: 'start' });
      }
      if (n > 0) {
        for (;;) {
          const due = t0 + j * spacing;
          if (due > now || due >= windowEnd) break;
          const ws = sockets[j % n];
          // A frame belongs to the window by the time it is actually sent, as on the receiving side.
          const sentAt = performance.now();
          const inWindow = sentAt >= windowStart && sentAt < windowEnd;
          if (ws.readyState === WebSocket.OPEN && ws.bufferedAmount <= SKIP_ABOVE_BYTES) {
            ws.send(template.make(sentAt, j), { binary: false });
            if (inWindow) {
              sent += 1;
              lagHist.recordValue(Math.max(1, Math.round((sentAt - due) * 1000)));
            }
          } else if (inWindow) {
            skipped += 1;
          }
          j += 1;
        }
      }
      if (now >= windowEnd) {
        cpuInWindow = process.cpuUsage(cpuAtStart);
        process.send?.({ type: 'window', phase: 'end' });
        resolve();
        return;
      }
      setTimeout(tick, 1);
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });

  const drainUntil = performance.now() + args.drainMs;
  while (received < sent && performance.now() < drainUntil) await sleep(20);
  // A frame that did not come back took longer than the drain: it counts at that bound (so a
  // saturated run shows a lower bound, never a flattering percentile of the frames that made it).
  const lostAt = Math.round((performance.now() - windowEnd) * 1000);
  for (let k = received; k < sent; k++) hist.recordValue(lostAt);
  const closedCleanly = await closeAll(sockets);
  open = [];
  const cpuMs = cpuInWindow ? (cpuInWindow.user + cpuInWindow.system) / 1000 : NaN;
  return {
    variant: args.variant,
    sessions: args.sessions,
    opened: n,
    openFailures: failures,
    firstOpenFailure: firstFailure,
    sent,
    received,
    lost: sent - received,
    skipped,
    latency: summarize(hist),
    sendLag: summarize(lagHist),
    clientCpuPct: (cpuMs / args.windowMs) * 100,
    otherEvents,
    windowSeconds: args.windowMs / 1000,
    closedCleanly,
  };
}

serveCommands(
  {
    run: (args) => run(args as RunArgs),
    /** Opens sessions and leaves them idle (memory per idle session). */
    openIdle: async (args) => {
      const result = await openSessions(args as OpenArgs);
      open.push(...result.sockets);
      return { opened: result.sockets.length, failures: result.failures, firstFailure: result.firstFailure };
    },
    closeAll: async () => {
      const sockets = open;
      open = [];
      return { closed: await closeAll(sockets) };
    },
  },
  async () => {
    for (const ws of open) ws.terminate();
  },
);

childConfig();
sendReady();
