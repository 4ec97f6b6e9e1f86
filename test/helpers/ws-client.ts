// A small WebSocket client for the realtime gateway's e2e tests, over real sockets (the `ws` package).
// It opens `/v3/realtime` with a ticket (subprotocol or `?ticket=`) or a bearer key, records every
// server frame as a parsed event, and reports how the upgrade went: a 101 (`opened`) or an HTTP
// refusal with its status and JSON body (`rejected`), never both.
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import {
  RealtimeProvider,
  type ClientEvent,
  type ModelDefinition,
  type OpenUpstreamParams,
  type UpstreamSession,
} from '../../src/index.js';
import { expectMinted, request, type MintOptions } from './mint-client.js';
import { RUNTIME_KEY } from './realtime-app.js';

export const SOCKET_PATH = '/v3/realtime';
export const MARKER_PROTOCOL = 'opper-realtime.v1';
export const TICKET_PROTOCOL_PREFIX = 'opper-ticket.';
const DEFAULT_TIMEOUT_MS = 5000;

/** One server frame, parsed. */
export interface ServerFrame {
  type: string;
  [key: string]: unknown;
}

export interface ErrorFrame extends ServerFrame {
  error: { code: string; message: string };
}

export interface ConnectOptions {
  /** The ticket secret, sent as `opper-ticket.<secret>` (default) or as `?ticket=`. */
  ticket?: string;
  via?: 'protocol' | 'query';
  /** Subprotocols to offer, exactly as given (wins over the ticket's default `[opper-ticket.<secret>]`). */
  protocols?: string[];
  /** A bearer key for the Authorization header (server-side clients). */
  bearer?: string;
  /** A raw Authorization header (wins over `bearer`). */
  authorization?: string;
  /** Extra query string (without `?`), e.g. `ticket=…`. */
  query?: string;
  /** The `Origin` header, as a browser page at that origin sends it. */
  origin?: string;
  /** Extra request headers of the upgrade (e.g. `x-request-id`). */
  headers?: Record<string, string>;
}

export type UpgradeOutcome =
  | { kind: 'open'; protocol: string }
  | { kind: 'rejected'; status: number; headers: IncomingMessage['headers']; text: string; json: unknown }
  | { kind: 'error'; error: Error };

export interface Closed {
  code: number;
  reason: string;
}

export class RealtimeTestClient {
  readonly ws: WebSocket;
  /** Every server frame received so far, in order. */
  readonly events: ServerFrame[] = [];
  /** How the upgrade ended. Never rejects. */
  readonly outcome: Promise<UpgradeOutcome>;
  /** The close code and reason (1006 when the connection died or was never upgraded). Never rejects. */
  readonly closed: Promise<Closed>;
  /** Frames that were not JSON (the gateway must never send one). */
  readonly nonJson: string[] = [];

  private readonly consumed = new Set<number>();
  private readonly waiters = new Set<() => void>();
  private closeInfo: Closed | undefined;
  private upgraded = false;

  constructor(baseUrl: string, options: ConnectOptions = {}) {
    const url = new URL(SOCKET_PATH, baseUrl.replace(/^http/, 'ws'));
    const query: string[] = [];
    if (options.ticket !== undefined && options.via === 'query') query.push(`ticket=${encodeURIComponent(options.ticket)}`);
    if (options.query) query.push(options.query);
    if (query.length) url.search = query.join('&');
    const protocols =
      options.protocols ?? (options.ticket !== undefined && options.via !== 'query' ? [TICKET_PROTOCOL_PREFIX + options.ticket] : []);
    const headers: Record<string, string> = { ...options.headers };
    const authorization = options.authorization ?? (options.bearer !== undefined ? `Bearer ${options.bearer}` : undefined);
    if (authorization !== undefined) headers.authorization = authorization;

    this.ws = new WebSocket(url, protocols, { headers, handshakeTimeout: 10_000, ...(options.origin !== undefined ? { origin: options.origin } : {}) });
    this.outcome = new Promise<UpgradeOutcome>((resolve) => {
      this.ws.once('open', () => {
        this.upgraded = true;
        resolve({ kind: 'open', protocol: this.ws.protocol });
      });
      this.ws.once('unexpected-response', (_req, res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        const done = () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ kind: 'rejected', status: res.statusCode ?? 0, headers: res.headers, text, json });
          // The handshake is over for good: release the request and its socket.
          this.ws.terminate();
        };
        res.once('end', done);
        res.once('error', done);
        res.once('aborted', done);
      });
      this.ws.on('error', (error) => resolve({ kind: 'error', error }));
    });
    this.closed = new Promise<Closed>((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        this.wake();
        resolve(this.closeInfo);
      });
    });
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      try {
        const event = JSON.parse(text) as ServerFrame;
        this.events.push(event);
      } catch {
        this.nonJson.push(text);
      }
      this.wake();
    });
  }

  /** Resolves once the socket is open (101), with the selected subprotocol; throws otherwise. */
  async opened(): Promise<string> {
    const outcome = await this.outcome;
    if (outcome.kind === 'open') return outcome.protocol;
    if (outcome.kind === 'rejected') throw new Error(`Upgrade refused: HTTP ${outcome.status} ${outcome.text}`);
    throw outcome.error;
  }

  /** Resolves with the HTTP refusal of the upgrade; throws when the socket opened instead. */
  async rejected(): Promise<Extract<UpgradeOutcome, { kind: 'rejected' }>> {
    const outcome = await this.outcome;
    if (outcome.kind === 'rejected') return outcome;
    if (outcome.kind === 'open') {
      this.ws.terminate();
      throw new Error(`Expected the upgrade to be refused, but it opened (protocol "${outcome.protocol}")`);
    }
    throw outcome.error;
  }

  get wasUpgraded(): boolean {
    return this.upgraded;
  }

  send(event: object): void {
    this.ws.send(JSON.stringify(event));
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** Sends `session.start` and waits for `session.started`. */
  async start(config: Record<string, unknown>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerFrame> {
    this.send({ type: 'session.start', config });
    return this.next('session.started', timeoutMs);
  }

  /**
   * The first event of `type` not returned by an earlier `next`/`nextWhere`, waiting for it when
   * needed. Rejects on timeout or when the socket closes first (with the events seen, for the log).
   */
  next(type: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerFrame> {
    return this.nextWhere((event) => event.type === type, `"${type}"`, timeoutMs);
  }

  /** The next unconsumed `error` event (optionally with this `error.code`). */
  async nextError(code?: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ErrorFrame> {
    const event = await this.nextWhere(
      (e) => e.type === 'error' && (code === undefined || (e as ErrorFrame).error?.code === code),
      code ? `error ${code}` : 'error',
      timeoutMs,
    );
    return event as ErrorFrame;
  }

  nextWhere(predicate: (event: ServerFrame) => boolean, what = 'a matching event', timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerFrame> {
    return new Promise<ServerFrame>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): boolean => {
        const index = this.events.findIndex((event, i) => !this.consumed.has(i) && predicate(event));
        if (index >= 0) {
          this.consumed.add(index);
          finish();
          resolve(this.events[index]);
          return true;
        }
        if (this.closeInfo) {
          finish();
          reject(new Error(`Socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) before ${what}; events: ${this.describe()}`));
          return true;
        }
        return false;
      };
      const finish = () => {
        if (timer) clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = () => void check();
      if (check()) return;
      this.waiters.add(waiter);
      timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; events: ${this.describe()}`));
      }, timeoutMs);
    });
  }

  /** Events of `type` received so far (consumed or not). */
  ofType(type: string): ServerFrame[] {
    return this.events.filter((event) => event.type === type);
  }

  /** Error codes of the `error` events received so far. */
  errorCodes(): string[] {
    return this.ofType('error').map((event) => (event as ErrorFrame).error.code);
  }

  /** Waits until nothing arrives for `quietMs` (to assert that something did NOT happen). */
  async settle(quietMs = 150): Promise<void> {
    let count = -1;
    while (count !== this.events.length) {
      count = this.events.length;
      await new Promise((resolve) => setTimeout(resolve, quietMs));
    }
  }

  /** Closes (normal closure) and waits for the close to complete. */
  async close(code = 1000): Promise<Closed> {
    if (this.ws.readyState === WebSocket.CONNECTING) {
      await this.outcome;
    }
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code);
    else if (this.ws.readyState !== WebSocket.CLOSED && this.ws.readyState !== WebSocket.CLOSING) this.ws.terminate();
    const timeout = new Promise<'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), 3000);
      void this.closed.then(() => clearTimeout(timer));
    });
    const result = await Promise.race([this.closed, timeout]);
    if (result === 'timeout') {
      this.ws.terminate();
      return this.closed;
    }
    return result;
  }

  describe(): string {
    return JSON.stringify(this.events.map((e) => (e.type === 'audio.delta' ? { type: e.type } : e))).slice(0, 2000);
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Opens a client (does not wait for the upgrade). */
export function connect(baseUrl: string, options: ConnectOptions = {}): RealtimeTestClient {
  return new RealtimeTestClient(baseUrl, options);
}

/** Mints a ticket with the test runtime key (or `options.apiKey`) and returns its secret. */
export async function mintTicket(baseUrl: string, body: unknown = {}, options: MintOptions = {}): Promise<string> {
  const result = await request(baseUrl, { apiKey: RUNTIME_KEY.key, json: body, ...options });
  return expectMinted(result).client_secret;
}

/** Mints a ticket, connects with it as a subprotocol and waits for the 101. */
export async function openWithTicket(baseUrl: string, body: unknown = {}, options: ConnectOptions = {}): Promise<RealtimeTestClient> {
  const ticket = await mintTicket(baseUrl, body);
  const client = connect(baseUrl, { ticket, ...options });
  await client.opened();
  return client;
}

/** Closes every client given (ignoring those already closed). */
export async function closeAll(clients: Iterable<RealtimeTestClient | undefined>): Promise<void> {
  await Promise.all([...clients].map((client) => client?.close().catch(() => undefined)));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ── a scriptable upstream for the gateway's tests ───────────────────────────────────────────────

/** The catalogue entry the fake provider serves (pass it in the `models` option). */
export const FAKE_MODEL: ModelDefinition = { id: 'fake/model', realtime: true, inputSampleRate: 24000, outputSampleRate: 24000 };

export interface FakeUpstream extends UpstreamSession {
  readonly params: OpenUpstreamParams;
  readonly received: ClientEvent[];
  closeCalls: number;
}

/**
 * A RealtimeProvider named `fake` that records every open() and close(). `mode: 'reject'` makes
 * open() reject; `openDelayMs` delays it. Each upstream keeps its handlers, so a test can make it
 * emit events or end (`handlers.onEnd`).
 */
export class RecordingProvider extends RealtimeProvider {
  readonly name: string;
  readonly upstreams: FakeUpstream[] = [];
  opens = 0;
  mode: 'ok' | 'reject' = 'ok';
  openDelayMs = 0;

  constructor(name = 'fake') {
    super();
    this.name = name;
  }

  /** close() calls summed over every upstream (an upstream closed twice counts twice). */
  get closes(): number {
    return this.upstreams.reduce((sum, upstream) => sum + upstream.closeCalls, 0);
  }

  /** Upstreams closed at least once. */
  get closedUpstreams(): number {
    return this.upstreams.filter((upstream) => upstream.closeCalls > 0).length;
  }

  async open(params: OpenUpstreamParams): Promise<UpstreamSession> {
    this.opens += 1;
    if (this.openDelayMs) await sleep(this.openDelayMs);
    if (this.mode === 'reject') throw new Error('fake upstream is unreachable');
    const upstream: FakeUpstream = {
      params,
      received: [],
      closeCalls: 0,
      inputSampleRate: params.model.inputSampleRate ?? 24000,
      outputSampleRate: params.model.outputSampleRate ?? 24000,
      bufferedAmount: 0,
      send(event) {
        this.received.push(event);
      },
      pause() {},
      resume() {},
      close() {
        this.closeCalls += 1;
      },
    };
    this.upstreams.push(upstream);
    return upstream;
  }

  get last(): FakeUpstream {
    const upstream = this.upstreams.at(-1);
    if (!upstream) throw new Error('no upstream was opened');
    return upstream;
  }
}

/** Polls `condition` until true (or throws after `timeoutMs`). */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(10);
  }
}
