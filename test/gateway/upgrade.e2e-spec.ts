// docs/protocol.md §2: opening the socket. Tickets are redeemed at the upgrade, so every refusal is a
// real HTTP 401/503 with the error JSON and never a 101; the 101 selects only an offered protocol.
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { UnreachableTicketRepository } from '../helpers/fakes.js';
import { expectError } from '../helpers/mint-client.js';
import { RUNTIME_KEY, startRealtimeApp } from '../helpers/realtime-app.js';
import {
  closeAll,
  connect,
  MARKER_PROTOCOL,
  mintTicket,
  sleep,
  TICKET_PROTOCOL_PREFIX,
  type RealtimeTestClient,
  type UpgradeOutcome,
} from '../helpers/ws-client.js';

const LOOPBACK = { model: 'loopback/echo' };

/** A hand-made upgrade request: resolves the status and headers of the 101 (then drops the socket). */
function rawUpgrade(url: string, extraHeaders: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        ...extraHeaders,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The refusal of an upgrade as an HttpResult, so mint-client's `expectError` checks the body shape. */
async function expectRefused(client: RealtimeTestClient, status: number, code: string | string[]): Promise<void> {
  const refusal = await client.rejected();
  expect(client.wasUpgraded).toBe(false);
  const headers = new Headers();
  for (const [name, value] of Object.entries(refusal.headers)) if (typeof value === 'string') headers.set(name, value);
  expectError({ status: refusal.status, headers, json: refusal.json, text: refusal.text }, status, code);
  // Nothing else arrives: the connection never became a WebSocket.
  expect((await client.closed).code).toBe(1006);
  expect(client.events).toEqual([]);
}

describe.each(PLATFORMS)('WebSocket upgrade (%s)', (platform) => {
  let app: HttpApp;
  const clients: RealtimeTestClient[] = [];
  const track = (client: RealtimeTestClient) => (clients.push(client), client);

  beforeAll(async () => {
    app = await startRealtimeApp(platform, {
      apiKeys: [RUNTIME_KEY, { key: 'opmak-management-key', projectId: 'proj_a', kind: 'management' }],
    });
  });
  afterAll(async () => {
    await closeAll(clients);
    await app.close();
  });

  describe('refusals: HTTP 401 with the error body, no 101', () => {
    it('refuses a replayed ticket (the first redemption still works)', async () => {
      const ticket = await mintTicket(app.baseUrl);
      const first = track(connect(app.baseUrl, { ticket }));
      await first.opened();
      await expectRefused(track(connect(app.baseUrl, { ticket })), 401, 'invalid_ticket');
      // …and also through the other transport.
      await expectRefused(track(connect(app.baseUrl, { ticket, via: 'query' })), 401, 'invalid_ticket');
      // The first socket is a working session.
      await first.start(LOOPBACK);
    });

    it('refuses an expired ticket', async () => {
      const ticket = await mintTicket(app.baseUrl, { ttl_seconds: 1 });
      await sleep(1300);
      await expectRefused(track(connect(app.baseUrl, { ticket })), 401, 'invalid_ticket');
    });

    it('refuses an unknown ticket (subprotocol and query)', async () => {
      const unknown = 'A'.repeat(43);
      await expectRefused(track(connect(app.baseUrl, { ticket: unknown })), 401, 'invalid_ticket');
      await expectRefused(track(connect(app.baseUrl, { ticket: unknown, via: 'query' })), 401, 'invalid_ticket');
    });

    it('refuses a connection without any credential', async () => {
      await expectRefused(track(connect(app.baseUrl)), 401, 'missing_credentials');
      // Offering only the marker is not a credential either.
      await expectRefused(track(connect(app.baseUrl, { protocols: [MARKER_PROTOCOL] })), 401, 'missing_credentials');
      await expectRefused(track(connect(app.baseUrl, { query: 'ticket=' })), 401, 'missing_credentials');
    });

    it('refuses a management key as bearer, before any lookup', async () => {
      await expectRefused(track(connect(app.baseUrl, { bearer: 'opmak-management-key' })), 401, 'management_key_not_allowed');
      await expectRefused(track(connect(app.baseUrl, { bearer: 'opmak-unknown' })), 401, 'management_key_not_allowed');
    });

    it('refuses an unknown or malformed bearer', async () => {
      await expectRefused(track(connect(app.baseUrl, { bearer: 'rtk-nobody-has-this' })), 401, 'invalid_api_key');
      await expectRefused(track(connect(app.baseUrl, { authorization: 'Basic abc' })), 401, 'invalid_authorization_header');
    });

    it('prefers the bearer over a ticket: a bad bearer is refused even with a valid ticket, which stays unused', async () => {
      const ticket = await mintTicket(app.baseUrl);
      await expectRefused(track(connect(app.baseUrl, { ticket, bearer: 'rtk-nobody-has-this' })), 401, 'invalid_api_key');
      const client = track(connect(app.baseUrl, { ticket }));
      await client.opened();
      await client.start(LOOPBACK);
    });
  });

  describe('a bearer runtime key', () => {
    it('opens a session without a ticket', async () => {
      const client = track(connect(app.baseUrl, { bearer: RUNTIME_KEY.key }));
      expect(await client.opened()).toBe('');
      const started = await client.start({ model: 'loopback/echo', voice: 'alloy' });
      expect(started.session_id).toMatch(/^sess_/);
      // No overlay: the client's config is what runs (no field_locked).
      await client.settle(100);
      expect(client.errorCodes()).toEqual([]);
    });
  });

  describe('subprotocol selection', () => {
    const protocolCases: [string, (ticket: string) => { protocols?: string[]; via?: 'query'; ticket?: string }, (ticket: string) => string][] = [
      ['[marker, ticket] → the marker', (t) => ({ protocols: [MARKER_PROTOCOL, TICKET_PROTOCOL_PREFIX + t] }), () => MARKER_PROTOCOL],
      ['[ticket, marker] → the marker', (t) => ({ protocols: [TICKET_PROTOCOL_PREFIX + t, MARKER_PROTOCOL] }), () => MARKER_PROTOCOL],
      ['[ticket] → exactly the ticket entry', (t) => ({ protocols: [TICKET_PROTOCOL_PREFIX + t] }), (t) => TICKET_PROTOCOL_PREFIX + t],
      ['?ticket= and no protocol → none', (t) => ({ ticket: t, via: 'query' }), () => ''],
      ['?ticket= with the marker offered → the marker', (t) => ({ ticket: t, via: 'query', protocols: [MARKER_PROTOCOL] }), () => MARKER_PROTOCOL],
    ];

    it.each(protocolCases)('%s', async (_label, options, expected) => {
      const ticket = await mintTicket(app.baseUrl);
      const client = track(connect(app.baseUrl, options(ticket)));
      const protocol = await client.opened();
      expect(protocol).toBe(expected(ticket));
      // ws (like browsers) fails the handshake on a protocol that was not offered; double-check.
      if (protocol !== '') expect([...(options(ticket).protocols ?? [])]).toContain(protocol);
      await client.start(LOOPBACK);
    });
  });

  it('?ticket= with only an unrelated protocol offered → a 101 that selects none', async () => {
    // The ws client (like browsers) fails a handshake without a protocol when it offered one, so
    // this 101 is read with a raw upgrade request.
    const ticket = await mintTicket(app.baseUrl);
    const response = await rawUpgrade(`${app.baseUrl}/v3/realtime?ticket=${ticket}`, { 'Sec-WebSocket-Protocol': 'chat.v2' });
    expect(response.status).toBe(101);
    expect(response.headers['sec-websocket-protocol']).toBeUndefined();
  });

  describe('the ticket store is unreachable', () => {
    let down: HttpApp;
    beforeAll(async () => {
      down = await startRealtimeApp(platform, { ticketRepository: new UnreachableTicketRepository() });
    });
    afterAll(() => down.close());

    it('answers 503 and never accepts', async () => {
      await expectRefused(track(connect(down.baseUrl, { ticket: 'A'.repeat(43) })), 503, 'ticket_store_unavailable');
      await expectRefused(track(connect(down.baseUrl, { ticket: 'A'.repeat(43), via: 'query' })), 503, 'ticket_store_unavailable');
    });
  });

  it('redeems a ticket exactly once under 200 parallel upgrades', async () => {
    const ticket = await mintTicket(app.baseUrl);
    const racers = Array.from({ length: 200 }, (_, i) => connect(app.baseUrl, i % 2 ? { ticket } : { ticket, via: 'query' }));
    clients.push(...racers);
    const outcomes: UpgradeOutcome[] = await Promise.all(racers.map((client) => client.outcome));
    const opened = outcomes.filter((o) => o.kind === 'open');
    const refused = outcomes.filter((o): o is Extract<UpgradeOutcome, { kind: 'rejected' }> => o.kind === 'rejected');
    expect(opened).toHaveLength(1);
    expect(refused).toHaveLength(199);
    expect(new Set(refused.map((r) => r.status))).toEqual(new Set([401]));
    expect(new Set(refused.map((r) => (r.json as { error: { code: string } }).error.code))).toEqual(new Set(['invalid_ticket']));
    const winner = racers.find((client) => client.wasUpgraded)!;
    await winner.start(LOOPBACK);
    await closeAll(racers);
  }, 30_000);
});
