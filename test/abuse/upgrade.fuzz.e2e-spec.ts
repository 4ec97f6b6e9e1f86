// Property: hand-written WebSocket upgrades on /v3/realtime over raw TCP — arbitrary
// Sec-WebSocket-Protocol lists (empty entries, 10 kB values, hundreds of entries, duplicate
// tickets), malformed and oversized tickets, repeated `ticket` query parameters, mixed credentials,
// bad Sec-WebSocket-Key / version — get a 101 only when they carry a valid credential and a valid
// handshake; anything else gets an HTTP error (with the JSON error body when the gateway answers it,
// docs/protocol.md §2) and the server closes the socket. Afterwards no socket is left open.
import { connect as tcpConnect } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { RealtimeEndpoint } from '../../src/index.js';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { RUNTIME_KEY, startRealtimeApp } from '../helpers/realtime-app.js';
import { SILENT_LOGGER } from '../helpers/redis-server.js';
import { connect, eventually, mintTicket } from '../helpers/ws-client.js';
import { fuzzParameters, fuzzTimeout } from './fuzz.js';

const RUNS = 200;
const CLOSED_WITHIN_MS = 5000;
const GOOD_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

type Credential = 'fresh-ticket' | 'garbage-ticket' | 'huge-ticket' | 'empty-ticket' | 'marker' | 'empty' | 'huge' | 'junk';

interface UpgradeCase {
  protocols: Credential[] | undefined;
  queryTickets: Array<'fresh' | 'garbage' | 'empty'>;
  authorization: 'none' | 'valid' | 'invalid' | 'empty';
  key: 'good' | 'missing' | 'short' | 'junk';
  version: '13' | '8' | 'missing' | '12' | 'junk';
  method: 'GET' | 'POST';
}

const credential = fc.constantFrom<Credential>('fresh-ticket', 'garbage-ticket', 'huge-ticket', 'empty-ticket', 'marker', 'empty', 'huge', 'junk');
const upgradeCase: fc.Arbitrary<UpgradeCase> = fc.record({
  protocols: fc.option(
    fc.oneof(
      { weight: 4, arbitrary: fc.array(credential, { maxLength: 6 }) },
      // Hundreds of short entries (long ones past Node's 16 kB header limit only meet its 431).
      { weight: 1, arbitrary: fc.array(fc.constantFrom<Credential>('fresh-ticket', 'garbage-ticket', 'empty-ticket', 'marker', 'empty', 'junk'), { minLength: 100, maxLength: 250 }) },
    ),
    { nil: undefined },
  ),
  queryTickets: fc.array(fc.constantFrom('fresh' as const, 'garbage' as const, 'empty' as const), { maxLength: 3 }),
  authorization: fc.constantFrom('none' as const, 'none' as const, 'none' as const, 'valid' as const, 'invalid' as const, 'empty' as const),
  key: fc.constantFrom('good' as const, 'good' as const, 'good' as const, 'missing' as const, 'short' as const, 'junk' as const),
  version: fc.constantFrom('13' as const, '13' as const, '13' as const, '8' as const, 'missing' as const, '12' as const, 'junk' as const),
  method: fc.constantFrom('GET' as const, 'GET' as const, 'GET' as const, 'GET' as const, 'POST' as const),
});

interface Answer {
  status: number;
  head: string;
  body: string;
  /** The server closed the socket by itself. */
  closedByServer: boolean;
}

/** Local ports of the raw sockets this test opened (the mints' keep-alive connection is not one). */
const rawPorts = new Set<number>();

/** Sends the request and reads the answer: until the server closes, or (for a 101) the end of the head. */
function send(baseUrl: string, request: string): Promise<Answer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(url.port), url.hostname);
    socket.once('connect', () => rawPorts.add(socket.localPort!));
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer and no close within ${CLOSED_WITHIN_MS} ms; got ${JSON.stringify(data.toString('latin1').slice(0, 200))}`));
    }, CLOSED_WITHIN_MS);
    const finish = (closedByServer: boolean) => {
      clearTimeout(timer);
      const text = data.toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const head = split < 0 ? text : text.slice(0, split);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: split < 0 ? '' : text.slice(split + 4), closedByServer });
    };
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.toString('latin1').startsWith('HTTP/1.1 101') && data.includes('\r\n\r\n')) {
        socket.destroy();
        finish(false);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
    socket.write(request);
  });
}

describe.each(PLATFORMS)('upgrade fuzzing over raw TCP (%s)', (platform) => {
  let app: HttpApp;

  /** Every socket the server accepted. */
  const accepted = new Set<import('node:net').Socket>();

  beforeAll(async () => {
    app = await startRealtimeApp(platform, { limits: { mintsPerKeyPerSecond: 1_000_000, upgradesPerIpPerSecond: 1_000_000, maxOutstandingTicketsPerProject: 1_000_000 } });
    app.app.useLogger(SILENT_LOGGER);
    (app.app.getHttpServer() as Server).on('connection', (socket) => accepted.add(socket));
  });
  afterAll(async () => {
    await app?.close();
  });

  it(
    'answers 101 only for a valid credential and handshake, else an HTTP error, and leaves no socket open',
    async () => {
      const seen = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(upgradeCase, fc.string({ unit: 'grapheme-ascii', maxLength: 30 }), async (c, junk) => {
          const ticket = await mintTicket(app.baseUrl, { config: { model: 'loopback/echo' } });
          const token = (kind: string) => junk.replace(/[^A-Za-z0-9_-]/g, '') + kind;
          const protocolOf = (p: Credential): string =>
            ({
              'fresh-ticket': `opper-ticket.${ticket}`,
              'garbage-ticket': `opper-ticket.${token('x')}`,
              'huge-ticket': `opper-ticket.${'A'.repeat(10_000)}`,
              'empty-ticket': 'opper-ticket.',
              marker: 'opper-realtime.v1',
              empty: '',
              huge: 'p'.repeat(10_000),
              junk: token('j'),
            })[p];
          const query = c.queryTickets.map((q) => `ticket=${q === 'fresh' ? ticket : q === 'garbage' ? token('g') : ''}`).join('&');
          const lines = [`${c.method} /v3/realtime${query ? `?${query}` : ''} HTTP/1.1`, `Host: ${new URL(app.baseUrl).host}`, 'Upgrade: websocket', 'Connection: Upgrade'];
          if (c.key !== 'missing') lines.push(`Sec-WebSocket-Key: ${{ good: GOOD_KEY, short: 'c2hvcnQ=', junk: token('k') || 'k' }[c.key]}`);
          if (c.version !== 'missing') lines.push(`Sec-WebSocket-Version: ${c.version === 'junk' ? token('v') || 'v' : c.version}`);
          if (c.protocols !== undefined) lines.push(`Sec-WebSocket-Protocol: ${c.protocols.map(protocolOf).join(', ')}`);
          if (c.authorization !== 'none') lines.push(`Authorization: ${{ valid: `Bearer ${RUNTIME_KEY.key}`, invalid: `Bearer ${token('rtk')}`, empty: '' }[c.authorization]}`);
          const answer = await send(app.baseUrl, `${lines.join('\r\n')}\r\n\r\n`);
          seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);

          const validHandshake = c.method === 'GET' && c.key === 'good' && (c.version === '13' || c.version === '8');
          const offersFreshTicket = (c.protocols ?? []).includes('fresh-ticket') || c.queryTickets.includes('fresh');
          if (answer.status === 101) {
            expect(validHandshake).toBe(true);
            expect(c.authorization === 'valid' || (c.authorization === 'none' && offersFreshTicket)).toBe(true);
            return;
          }
          expect(answer.status).toBeGreaterThanOrEqual(400);
          expect(answer.closedByServer).toBe(true);
          // The gateway's own refusals carry the error body (ws's handshake refusals and Node's parser errors do not).
          if ([401, 403, 429, 503].includes(answer.status)) expect(typeof JSON.parse(answer.body).error.code).toBe('string');
          // Refused for anything but the credential itself (a broken handshake, a header too large,
          // a method): the ticket offered was not spent, and opens a clean upgrade afterwards.
          if (offersFreshTicket && answer.status !== 401) {
            const retry = connect(app.baseUrl, { ticket });
            const outcome = await retry.outcome;
            await retry.close();
            expect(outcome.kind).toBe('open');
          }
        }),
        fuzzParameters(RUNS),
      );
      const endpoint = app.app.get(RealtimeEndpoint);
      const open = () => [...accepted].filter((socket) => !socket.destroyed && rawPorts.has(socket.remotePort!)).length;
      await eventually(() => endpoint.connectedSockets === 0, 'every upgraded socket closed');
      await eventually(() => open() === 0, 'no server-side socket of a raw upgrade left open (half-open)');
      expect(rawPorts.size).toBeGreaterThanOrEqual(RUNS);
      expect(seen.get(101)).toBeGreaterThan(0);
      console.log(`upgrade fuzz (${platform}): statuses ${JSON.stringify(Object.fromEntries(seen))}`);
    },
    fuzzTimeout(RUNS, 100),
  );
});
