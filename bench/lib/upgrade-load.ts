// Closed-loop WebSocket upgrade load for the redemption benchmark, on raw TCP sockets: each attempt
// writes a hand-made upgrade request, reads up to the end of the response head, records the time to
// the status line and resets the connection (RST, so the 127.0.0.1 ephemeral ports do not pile up in
// TIME_WAIT). No ws client, no accept-key check: the load generator stays light and identical for
// the gateway and the bare baseline; only the path and the offered subprotocols differ.
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { newHistogram, summarize, type LatencySummary } from './stats.js';

export interface UpgradeSample {
  /** 101s per second over the sample. */
  rate: number;
  ok: number;
  failures: number;
  firstFailure?: string;
  latency: LatencySummary;
  seconds: number;
}

export interface UpgradeLoadOptions {
  port: number;
  path: string;
  /** The `Sec-WebSocket-Protocol` header of attempt `i`. */
  protocols: (i: number) => string;
  count: number;
  concurrency: number;
  /** Give up after this long (the sample is then marked failed). */
  maxSeconds: number;
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const HEAD_END = Buffer.from('\r\n\r\n');

function attempt(port: number, head: string): Promise<{ ok: boolean; ms: number; status: string }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    let received: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (ok: boolean, status: string) => {
      if (done) return;
      done = true;
      const ms = performance.now() - started;
      if (!socket.destroyed) socket.resetAndDestroy();
      resolve({ ok, ms, status });
    };
    socket.on('data', (chunk: Buffer) => {
      received = received.length ? Buffer.concat([received, chunk]) : chunk;
      if (received.indexOf(HEAD_END) < 0) return;
      const status = received.toString('latin1', 0, received.indexOf(0x0d));
      finish(status.startsWith('HTTP/1.1 101 '), status);
    });
    socket.on('error', (err) => finish(false, err.message));
    socket.on('close', () => finish(false, 'closed before a response'));
    socket.write(head);
  });
}

export async function runUpgradeLoad(options: UpgradeLoadOptions): Promise<UpgradeSample> {
  const hist = newHistogram();
  let next = 0;
  let ok = 0;
  let failures = 0;
  let firstFailure: string | undefined;
  const started = performance.now();
  const deadline = started + options.maxSeconds * 1000;
  const worker = async () => {
    while (next < options.count && performance.now() < deadline) {
      const i = next++;
      const head =
        `GET ${options.path} HTTP/1.1\r\nHost: 127.0.0.1:${options.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${options.protocols(i)}\r\n\r\n`;
      const result = await attempt(options.port, head);
      if (result.ok) {
        ok += 1;
        hist.recordValue(Math.max(1, Math.round(result.ms * 1000)));
      } else {
        failures += 1;
        firstFailure ??= result.status;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  if (next < options.count) {
    failures += options.count - next;
    firstFailure ??= `stopped after ${options.maxSeconds} s`;
  }
  const seconds = (performance.now() - started) / 1000;
  return { rate: ok / seconds, ok, failures, firstFailure, latency: summarize(hist), seconds };
}

/** Mints `count` tickets over HTTP (keep-alive, `concurrency` at a time); resolves the secrets. */
export async function mintTickets(port: number, apiKey: string, body: string, count: number, concurrency = 16): Promise<string[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const secrets: string[] = [];
  let next = 0;
  const one = () =>
    new Promise<string>((resolve, reject) => {
      const req = request(
        {
          agent,
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v3/realtime-sessions',
          headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) return reject(new Error(`mint answered ${res.statusCode}: ${text.slice(0, 200)}`));
            resolve((JSON.parse(text) as { client_secret: string }).client_secret);
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          next += 1;
          secrets.push(await one());
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return secrets;
}
