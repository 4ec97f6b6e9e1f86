// The benchmark's processes talk over Node's IPC channel (fork): the orchestrator starts each
// server or load generator as a child, waits for its `ready` message, then sends it commands and
// awaits the answers. Nothing here runs on a measured path.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';

export interface Ready {
  type: 'ready';
  port?: number;
  [key: string]: unknown;
}

interface Reply {
  type: 'reply';
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export interface ProcessStats {
  /** process.cpuUsage(), microseconds. */
  cpuUser: number;
  cpuSystem: number;
  /** performance.now() of the child, ms. */
  at: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** A forked benchmark process. */
export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<(message: Record<string, unknown>) => void>();
  private exited = false;
  ready!: Ready;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    proc.on('message', (message: Record<string, unknown>) => {
      if (message?.type === 'reply') {
        const reply = message as unknown as Reply;
        const waiter = this.pending.get(reply.id);
        if (!waiter) return;
        this.pending.delete(reply.id);
        if (reply.ok) waiter.resolve(reply.result);
        else waiter.reject(new Error(`${name}: ${reply.error}`));
        return;
      }
      for (const listener of this.listeners) listener(message);
    });
    proc.on('exit', (code, signal) => {
      this.exited = true;
      for (const waiter of this.pending.values()) waiter.reject(new Error(`${name} exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  /** Sends a command and resolves its result. */
  call<T = unknown>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.send({ type: 'command', id, cmd, args });
    });
  }

  /** Messages the child sends on its own (progress events). */
  onMessage(listener: (message: Record<string, unknown>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): Promise<ProcessStats> {
    return this.call<ProcessStats>('stats');
  }

  /** Full GC (children run with --expose-gc), then stats. */
  gcStats(): Promise<ProcessStats> {
    return this.call<ProcessStats>('gc');
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await once(this.proc, 'exit').catch(() => undefined);
    clearTimeout(timer);
  }
}

export interface SpawnOptions {
  /** Extra node flags (e.g. --cpu-prof). */
  execArgv?: string[];
  env?: Record<string, string>;
  /** Max wait for `ready`. */
  readyTimeoutMs?: number;
}

/** Forks `script` with `config` as its argument, resolves once it sent `ready`. */
export async function spawnChild(name: string, script: string, config: object, options: SpawnOptions = {}): Promise<Child> {
  const proc = fork(script, [JSON.stringify(config)], {
    execArgv: ['--expose-gc', ...(options.execArgv ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const child = new Child(name, proc);
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${options.readyTimeoutMs ?? 30_000} ms`)), options.readyTimeoutMs ?? 30_000);
    const off = child.onMessage((message) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      off();
      resolve(message as Ready);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready (${code})`));
    });
  });
  child.ready = ready;
  return child;
}

// ── the child's side ──────────────────────────────────────────────────────────────────────────

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CommandHandler = (args: any) => unknown | Promise<unknown>;

export function processStats(): ProcessStats {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return {
    cpuUser: cpu.user,
    cpuSystem: cpu.system,
    at: performance.now(),
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    external: mem.external,
    arrayBuffers: mem.arrayBuffers,
  };
}

/** Forces full collections until the heap stops shrinking (a few passes at most). */
export async function fullGc(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  let last = Infinity;
  for (let i = 0; i < 6; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    const used = process.memoryUsage().heapUsed;
    if (used >= last - 1024) break;
    last = used;
  }
}

/** The config the orchestrator passed to this child. */
export function childConfig<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}

/** Serves commands from the orchestrator; `stats` and `gc` are built in. Exits when the parent goes. */
export function serveCommands(handlers: Record<string, CommandHandler>, onExit?: () => Promise<void> | void): void {
  const all: Record<string, CommandHandler> = {
    stats: () => processStats(),
    gc: async () => {
      await fullGc();
      return processStats();
    },
    ...handlers,
  };
  process.on('message', async (message: { type?: string; id: number; cmd: string; args: Record<string, unknown> }) => {
    if (message?.type !== 'command') return;
    const handler = all[message.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${message.cmd}`);
      const result = await handler(message.args ?? {});
      process.send?.({ type: 'reply', id: message.id, ok: true, result });
    } catch (err) {
      process.send?.({ type: 'reply', id: message.id, ok: false, error: (err as Error)?.stack ?? String(err) });
    }
  });
  let exiting = false;
  const exit = async () => {
    if (exiting) return;
    exiting = true;
    const timer = setTimeout(() => process.exit(0), 2000);
    timer.unref();
    try {
      await onExit?.();
    } finally {
      process.exit(0);
    }
  };
  process.on('disconnect', exit);
  process.on('SIGTERM', exit);
}

export function sendReady(extra: Omit<Ready, 'type'> = {}): void {
  process.send?.({ type: 'ready', ...extra });
}

// ── CPU of a process, read from /proc by the orchestrator ─────────────────────────────────────
// Independent of the child's event loop (a saturated child answers IPC late), 10 ms resolution.

const CLOCK_TICK_MS = 10; // USER_HZ = 100 on Linux

export interface CpuReading {
  at: number;
  cpuMs: number;
}

export function readCpu(pid: number): CpuReading {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[11] = utime, fields[12] = stime (fields 14 and 15 of proc(5), counted from state = 3)
  return { at: performance.now(), cpuMs: (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS };
}

export function cpuPercent(a: CpuReading, b: CpuReading): number {
  return ((b.cpuMs - a.cpuMs) / (b.at - a.at)) * 100;
}

/**
 * Waits (at most `maxMs`) until every benchmark process uses less than `idlePct` of a core and the
 * rest of the machine less than `foreignPct`, over `sliceMs`. Resolves how long it waited.
 */
export async function settle(pids: number[], { idlePct = 10, foreignPct = 40, sliceMs = 150, maxMs = 20_000 } = {}): Promise<number> {
  const started = performance.now();
  const all = [process.pid, ...pids];
  for (;;) {
    const before = pids.map(readCpu);
    const foreign = new ForeignLoad(all);
    await new Promise((resolve) => setTimeout(resolve, sliceMs));
    const busy = pids.some((pid, i) => cpuPercent(before[i], readCpu(pid)) > idlePct) || foreign.read() > foreignPct;
    const waited = performance.now() - started;
    if (!busy || waited > maxMs) return waited;
  }
}

/** Machine-wide CPU from /proc/stat, in ms of CPU time (all cores). */
export function readSystemCpu(): { at: number; busyMs: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return { at: performance.now(), busyMs: (user + nice + system + irq + softirq + steal) * CLOCK_TICK_MS };
}

/**
 * CPU used by processes that are not part of the benchmark (another job on the machine), in % of
 * one core, over an interval: machine-wide busy time minus the benchmark's processes.
 */
export class ForeignLoad {
  private system = readSystemCpu();
  private ours: CpuReading[];

  constructor(private readonly pids: number[]) {
    this.ours = pids.map(readCpu);
  }

  /** % of one core used by other processes since construction. */
  read(): number {
    const system = readSystemCpu();
    const ours = this.pids.map(readCpu);
    const oursMs = ours.reduce((sum, r, i) => sum + r.cpuMs - this.ours[i].cpuMs, 0);
    return ((system.busyMs - this.system.busyMs - oursMs) / (system.at - this.system.at)) * 100;
  }
}
