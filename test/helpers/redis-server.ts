// A throwaway redis-server per test file, on a free port, with no persistence, that a test can
// stop, restart (same port, empty), freeze (SIGSTOP) and thaw (SIGCONT).
//
// Where there is no redis-server binary: with CI=true the test file fails loudly (a missing Redis
// must never pass as a skip); otherwise tests that only need *a* Redis use REDIS_URL when set, and
// everything else is skipped with a message saying why.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { describe } from '@jest/globals';
import { Redis } from 'ioredis';

/** `REDIS_SERVER_BIN` when set (and only it), else `redis-server` on PATH, else /usr/bin/redis-server. */
function findRedisServer(): string | undefined {
  const explicit = process.env.REDIS_SERVER_BIN?.trim();
  const candidates = explicit ? [explicit] : [...(process.env.PATH ?? '').split(delimiter).map((dir) => dir && join(dir, 'redis-server')), '/usr/bin/redis-server'];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there
    }
  }
  return undefined;
}

export const REDIS_SERVER_BIN = findRedisServer();
const EXTERNAL_URL = process.env.REDIS_URL?.trim() || undefined;

if (!REDIS_SERVER_BIN && process.env.CI === 'true') {
  throw new Error(
    `CI=true but no redis-server binary was found (${process.env.REDIS_SERVER_BIN ? `REDIS_SERVER_BIN=${process.env.REDIS_SERVER_BIN}` : 'looked on $PATH and at /usr/bin/redis-server'}): ` +
      'install redis-server (apt-get install -y redis-server); Redis tests must not be skipped in CI',
  );
}

/** How this run reaches Redis: its own process, an external REDIS_URL, or not at all. */
export const redisMode: 'process' | 'url' | 'none' = REDIS_SERVER_BIN ? 'process' : EXTERNAL_URL ? 'url' : 'none';

function skipNotice(what: string): void {
  console.warn(`SKIPPED ${what}: no redis-server binary${redisMode === 'none' ? ' and no REDIS_URL' : ''} (set REDIS_SERVER_BIN, or install redis-server)`);
}

/** `describe` for tests that need a Redis (their own process, or REDIS_URL). */
export function describeWithRedis(name: string, fn: () => void): void {
  if (redisMode === 'none') skipNotice(name);
  (redisMode === 'none' ? describe.skip : describe)(name, fn);
}

/** `describe` for tests that stop or freeze Redis: they need a redis-server process of their own. */
export function describeWithRedisProcess(name: string, fn: () => void): void {
  if (redisMode !== 'process') skipNotice(name);
  (redisMode === 'process' ? describe : describe.skip)(name, fn);
}

/** Resolves a TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** One RESP PING over a fresh socket: true on +PONG within `timeoutMs`. */
export function ping(port: number, timeoutMs = 200): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.once('error', () => done(false));
  });
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A crashed test run must not leave servers behind.
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** False when the tests run against an external REDIS_URL (no stop / pause / restart then). */
  readonly controllable: boolean;
  /** Whether the server process is up (always true for an external REDIS_URL). */
  readonly running: boolean;
  /** Kills the server (SIGKILL: what a crash looks like) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty, and waits until it answers PING. */
  start(): Promise<void>;
  /** SIGSTOP: the server keeps its connections but answers nothing. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Stops it for good (afterAll). */
  close(): Promise<void>;
}

export interface RedisServerOptions {
  /** Extra redis-server arguments, e.g. `['--rename-command', 'GETDEL', '']`. */
  args?: string[];
}

/** Starts a throwaway redis-server (or adopts REDIS_URL when there is no binary). */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  if (!REDIS_SERVER_BIN) {
    if (!EXTERNAL_URL) throw new Error('no redis-server binary and no REDIS_URL');
    if (options.args?.length) throw new Error('this test needs its own redis-server (custom arguments)');
    return externalServer(EXTERNAL_URL);
  }
  return launch((port) => ({ args: [...serverArgs(port), ...(options.args ?? [])] }));
}

function serverArgs(port: number): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'];
}

interface LaunchSpec {
  args: string[];
  url?: string;
  /** Readiness probe (default: a plain-TCP PING). */
  probe?: (port: number) => Promise<boolean>;
}

/** Starts a redis-server process on a free port (retrying if the port was taken meanwhile). */
async function launch(spec: (port: number) => LaunchSpec): Promise<ProcessRedisServer> {
  if (!REDIS_SERVER_BIN) throw new Error('this test needs a redis-server binary');
  installExitHook();
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const port = await freePort();
    const server = new ProcessRedisServer(REDIS_SERVER_BIN, port, spec(port));
    try {
      await server.start();
      return server;
    } catch (err) {
      lastError = err; // most likely the port was taken between freePort() and bind: try another
      await server.close();
    }
  }
  throw lastError;
}

class ProcessRedisServer implements RedisServer {
  readonly url: string;
  readonly controllable = true;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly bin: string,
    readonly port: number,
    private readonly spec: LaunchSpec,
  ) {
    this.url = spec.url ?? `redis://127.0.0.1:${port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('redis-server is already running');
    const child = spawn(this.bin, this.spec.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    running.add(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        running.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    const probe = this.spec.probe ?? ping;
    const deadline = Date.now() + 10_000;
    while (!(await probe(this.port))) {
      if (!this.child || child.exitCode !== null) throw new Error(`redis-server on port ${this.port} exited at start: ${output.trim()}`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not answer PING within 10 s: ${output.trim()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async stop(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  close(): Promise<void> {
    return this.stop();
  }
}

/** A scratch directory for config files, certificates and cluster state; removed by the caller. */
function scratchDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `redis-${label}-`));
}

export interface RedisCluster {
  readonly nodes: RedisServer[];
  /** Startup nodes for ioredis's Cluster. */
  readonly startupNodes: { host: string; port: number }[];
  close(): Promise<void>;
}

/** Three masters (no replicas) with every slot assigned, once the cluster says `cluster_state:ok`. */
export async function startRedisCluster(size = 3): Promise<RedisCluster> {
  const dir = scratchDir('cluster');
  const nodes: ProcessRedisServer[] = [];
  const close = async () => {
    await Promise.all(nodes.map((node) => node.close()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < size; i += 1) {
      nodes.push(
        await launch((port) => ({
          args: [...serverArgs(port), '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir],
        })),
      );
    }
    const create = spawnSync(
      join(dirname(REDIS_SERVER_BIN as string), 'redis-cli'),
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    for (const node of nodes) {
      const client = await inspectionClient(node.url);
      try {
        const deadline = Date.now() + 10_000;
        while (!String(await client.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) {
          if (Date.now() > deadline) throw new Error(`cluster node ${node.port} did not reach cluster_state:ok`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await client.quit();
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { nodes, startupNodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })), close };
}

export interface RedisSentinel extends RedisServer {
  /** The master group name the sentinel monitors. */
  readonly masterName: string;
}

/** A sentinel monitoring `master` as group `masterName`. */
export async function startRedisSentinel(master: RedisServer, masterName = 'voice'): Promise<RedisSentinel> {
  const dir = scratchDir('sentinel');
  const server = await launch((port) => {
    const config = join(dir, `sentinel-${port}.conf`);
    // Sentinel rewrites its config file, so it gets one of its own.
    writeFileSync(config, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor ${masterName} 127.0.0.1 ${master.port} 1\n`);
    return { args: [config, '--sentinel', '--loglevel', 'warning'] };
  });
  const close = server.close.bind(server);
  return Object.assign(server, {
    masterName,
    close: async () => {
      await close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

export interface TlsRedisServer extends RedisServer {
  /** PEM of the self-signed certificate the server presents (trust it as `tls.ca`). */
  readonly ca: string;
}

/** A redis-server that speaks only TLS (`rediss://`), with a fresh self-signed certificate (needs openssl). */
export async function startTlsRedisServer(): Promise<TlsRedisServer> {
  const dir = scratchDir('tls');
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  const openssl = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (openssl.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl could not make a certificate: ${openssl.error?.message ?? openssl.stderr}`);
  }
  const ca = readFileSync(cert, 'utf8');
  const server = await launch((port) => ({
    args: [
      '--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning',
      '--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no',
    ],
    url: `rediss://127.0.0.1:${port}`,
    probe: (p) => tlsPing(p, ca),
  }));
  const close = server.close.bind(server);
  return Object.assign(server, {
    ca,
    close: async () => {
      await close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

function tlsPing(port: number, ca: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', ca, servername: 'localhost' });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('secureConnect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.once('error', () => done(false));
  });
}

function externalServer(url: string): RedisServer {
  const unsupported = async () => {
    throw new Error('cannot stop, pause or restart an external REDIS_URL');
  };
  return {
    url,
    port: Number(new URL(url).port || 6379),
    controllable: false,
    running: true,
    stop: unsupported,
    start: unsupported,
    pause: () => void unsupported(),
    resume: () => void unsupported(),
    close: async () => undefined,
  };
}

/** A key prefix no other test uses, so tests can share one Redis (an external one included). */
export function uniquePrefix(label = 'test'): string {
  return `${label}:${randomBytes(6).toString('hex')}:`;
}

/** A plain ioredis client for inspecting what the gateway wrote. Close it with `quit()`. */
export async function inspectionClient(url: string): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  return client;
}

/** Every key under `prefix` (SCAN, not KEYS: safe on a shared Redis). */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}

/** Deletes every key under `prefix`. */
export async function deleteUnder(client: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix);
  if (keys.length) await client.del(...keys);
}

/** A Nest logger that drops everything, for apps whose Redis is down on purpose (`builder.setLogger`). */
export const SILENT_LOGGER = { log() {}, error() {}, warn() {}, debug() {}, verbose() {}, fatal() {} };
