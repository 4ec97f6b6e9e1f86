// A throwaway redis-server for the Redis rows, on a free 127.0.0.1 port, no persistence; or the
// server of REDIS_URL when the binary is not installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { sleep } from './stats.js';

export interface BenchRedis {
  url: string;
  /** What it is, for the report. */
  description: string;
  /** Of the server this run started (its CPU counts as the benchmark's own). */
  pid?: number;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function ping(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
    socket.write('PING\r\n');
  });
}

export async function startBenchRedis(): Promise<BenchRedis | undefined> {
  const which = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (which.status === 0) {
    const port = await freePort();
    const proc: ChildProcess = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100 && !(await ping(port)); i++) await sleep(50);
    if (!(await ping(port))) {
      proc.kill('SIGKILL');
      throw new Error('redis-server did not start');
    }
    const version = /v=(\S+)/.exec(which.stdout)?.[1] ?? '?';
    return {
      url: `redis://127.0.0.1:${port}`,
      description: `redis-server ${version}, its own process on 127.0.0.1:${port}, no persistence`,
      pid: proc.pid,
      stop: async () => {
        if (proc.exitCode !== null) return;
        proc.kill('SIGTERM');
        await Promise.race([once(proc, 'exit'), sleep(3000)]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      },
    };
  }
  const url = process.env.REDIS_URL;
  if (!url) return undefined;
  return { url, description: `REDIS_URL (${url.replace(/\/\/[^@]*@/, '//')})`, stop: async () => undefined };
}
