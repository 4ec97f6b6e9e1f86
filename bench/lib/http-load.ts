// Closed-loop HTTP load for the minting benchmark: autocannon, with every response's latency taken
// into our own microsecond histogram (autocannon's own keeps whole milliseconds).
import autocannon from 'autocannon';
import { newHistogram, summarize, type LatencySummary } from './stats.js';

export interface HttpSample {
  /** 2xx responses per second over the sample. */
  rate: number;
  ok: number;
  /** Non-2xx answers, errors and timeouts: must be 0 for a valid sample. */
  failures: number;
  firstFailureStatus?: number;
  latency: LatencySummary;
  seconds: number;
}

export interface HttpLoadOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  seconds: number;
}

export function runHttpLoad(options: HttpLoadOptions): Promise<HttpSample> {
  const hist = newHistogram();
  let ok = 0;
  let failures = 0;
  let firstFailureStatus: number | undefined;
  const started = performance.now();
  return new Promise<HttpSample>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: 'POST',
        headers: options.headers,
        body: options.body,
        connections: options.connections,
        pipelining: 1,
        duration: options.seconds,
        timeout: 10,
        renderProgressBar: false,
        renderResultsTable: false,
        renderLatencyTable: false,
      },
      (err, result) => {
        if (err) return reject(err);
        const seconds = (performance.now() - started) / 1000;
        failures += result.errors + result.timeouts;
        resolve({ rate: ok / seconds, ok, failures, firstFailureStatus, latency: summarize(hist), seconds });
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
      if (statusCode >= 200 && statusCode < 300) {
        ok += 1;
        hist.recordValue(Math.max(1, Math.round(responseTimeMs * 1000)));
      } else {
        failures += 1;
        firstFailureStatus ??= statusCode;
      }
    });
  });
}
