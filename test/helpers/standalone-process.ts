// The standalone server as a separate OS process (`node dist/standalone/main.js`), the way it is
// deployed: several of them side by side are several gateway instances. The build runs first, once
// per test file, so `npm test` on a clean checkout needs nothing else.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from './redis-server.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('../../dist/standalone/main.js', import.meta.url));
const TSC = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));

let built = false;

/** `tsc -p tsconfig.build.json` (what `npm start` runs), once per test file. Throws with tsc's output. */
export function buildStandalone(): void {
  if (built) return;
  const result = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.build.json'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 180_000 });
  if (result.status !== 0 || !existsSync(MAIN)) {
    throw new Error(`Building the standalone server failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
  }
  built = true;
}

export interface StandaloneProcess {
  readonly baseUrl: string;
  readonly port: number;
  readonly pid: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or signal) once it exited. */
  readonly exited: Promise<number | string>;
  /** Sends `signal` and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

export interface StartStandaloneOptions {
  /** Extra `node` flags, before the script (e.g. `--import <hook>`). */
  nodeArgs?: string[];
  /** How long to wait for "listening" (default 20 s). */
  readyTimeoutMs?: number;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Starts the standalone server with `env` (over a minimal environment: no stray REDIS_URL or
 * keys from the developer's shell) on a port picked here, and waits until it is listening.
 */
export async function startStandalone(env: Record<string, string>, options: StartStandaloneOptions = {}): Promise<StandaloneProcess> {
  buildStandalone();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const child of running) child.kill('SIGKILL');
    });
  }
  const port = await freePort();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), MAIN], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), REALTIME_DEMO: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const handle: StandaloneProcess = {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    output: () => output,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  while (!output.includes('Realtime gateway listening on')) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw Object.assign(new Error(`The standalone server exited before listening (${child.exitCode ?? child.signalCode}):\n${output}`), { handle });
    }
    if (Date.now() > deadline) {
      await handle.kill('SIGKILL');
      throw new Error(`The standalone server did not listen within ${options.readyTimeoutMs ?? 20_000} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return handle;
}

/** Starts the server expecting it to fail at start; resolves its exit code and output. */
export async function expectStartFailure(env: Record<string, string>, options: StartStandaloneOptions = {}): Promise<{ code: number | string; output: string }> {
  try {
    const handle = await startStandalone(env, options);
    await handle.kill('SIGKILL');
    throw new Error(`The standalone server started, but was expected to fail:\n${handle.output()}`);
  } catch (err) {
    const handle = (err as { handle?: StandaloneProcess }).handle;
    if (!handle) throw err;
    return { code: await handle.exited, output: handle.output() };
  }
}
