// No leaks after many sessions: 1,000 sessions (mint, connect, session.start, session.started,
// close), 50 at a time, must leave no session, no ws client, no per-project slot, no upstream
// and no extra timer or socket behind.
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_LIMITS, InMemorySessionLimiter, RealtimeEndpoint, SessionRegistry } from '../../src/index.js';
import { PLATFORMS } from '../helpers/http-app.js';
import { RUNTIME_KEY, startRealtimeApp } from '../helpers/realtime-app.js';
import { connect, eventually, FAKE_MODEL, mintTicket, RecordingProvider, sleep } from '../helpers/ws-client.js';
import { ManualClock } from './manual-clock.js';

const SESSIONS = 1000;
const BATCH = 50;
/** Slack for the fetch keep-alive pool and timers that come and go on their own. */
const RESOURCE_SLACK = 4;

function countResources(): { timeouts: number; sockets: number } {
  const resources = process.getActiveResourcesInfo();
  return {
    timeouts: resources.filter((r) => r === 'Timeout').length,
    sockets: resources.filter((r) => r === 'TCPSocketWrap').length,
  };
}

/** One whole session. Every tenth one is cut off abruptly right after session.start instead. */
async function oneSession(baseUrl: string, ticket: string, index: number): Promise<void> {
  const client = connect(baseUrl, { ticket });
  try {
    await client.opened();
    if (index % 10 === 9) {
      client.send({ type: 'session.start', config: { model: FAKE_MODEL.id } });
      client.ws.terminate();
      await client.closed;
      return;
    }
    await client.start({ model: FAKE_MODEL.id });
    const closed = await client.close();
    expect(closed.code).toBe(1000);
  } finally {
    if (client.ws.readyState !== client.ws.CLOSED) client.ws.terminate();
  }
}

describe.each(PLATFORMS)('resource leaks (%s)', (platform) => {
  it(`leaves nothing behind after ${SESSIONS} sessions`, async () => {
    const provider = new RecordingProvider();
    const limiter = new InMemorySessionLimiter();
    // Sessions cut off after their start wait for a resume (limits.resumeGraceSeconds): the test
    // ends that window with the manual clock, and they must be released then.
    const clock = new ManualClock();
    const app = await startRealtimeApp(platform, { providers: [provider], models: [FAKE_MODEL], sessionLimiter: limiter, clock });
    try {
      const endpoint = app.app.get(RealtimeEndpoint);
      const registry = app.app.get(SessionRegistry);

      // Warm-up, so the baseline holds the keep-alive connection and lazily created timers.
      await oneSession(app.baseUrl, await mintTicket(app.baseUrl), 0);
      await eventually(() => registry.activeSessions === 0 && endpoint.connectedSockets === 0, 'the warm-up session is gone');
      await sleep(100);
      const before = countResources();

      for (let done = 1; done < SESSIONS; done += BATCH) {
        const count = Math.min(BATCH, SESSIONS - done);
        // Minted one after another: the fetch keep-alive pool stays at one connection.
        const tickets: string[] = [];
        for (let i = 0; i < count; i++) tickets.push(await mintTicket(app.baseUrl));
        await Promise.all(tickets.map((ticket, i) => oneSession(app.baseUrl, ticket, done + i)));
        // A held session keeps its slot: end the batch's resume windows before the next batch.
        await eventually(() => endpoint.connectedSockets === 0, 'the batch\'s sockets are closed', 5000);
        clock.advance(DEFAULT_LIMITS.resumeGraceSeconds * 1000);
      }

      await eventually(() => endpoint.connectedSockets === 0, 'the ws server has no clients', 5000);
      clock.advance(DEFAULT_LIMITS.resumeGraceSeconds * 1000);
      await eventually(() => registry.activeSessions === 0, 'every session is released', 5000);
      expect(registry.activeSessions).toBe(0);
      expect(endpoint.connectedSockets).toBe(0);
      expect(limiter.count(RUNTIME_KEY.projectId!)).toBe(0);

      // Every upstream that was opened was closed, exactly once.
      expect(provider.opens).toBeGreaterThanOrEqual(SESSIONS * 0.9);
      await eventually(() => provider.closes === provider.upstreams.length, 'every upstream is closed', 5000);
      expect(provider.upstreams.length).toBe(provider.opens);
      expect(provider.closes).toBe(provider.opens);
      expect(provider.upstreams.every((upstream) => upstream.closeCalls === 1)).toBe(true);

      // No timer or socket left over (closes and keep-alive expiry may take a moment).
      let after = countResources();
      const settled = () => {
        after = countResources();
        return after.timeouts <= before.timeouts + RESOURCE_SLACK && after.sockets <= before.sockets + RESOURCE_SLACK;
      };
      await eventually(settled, 'timers and sockets are back to the baseline', 5000).catch(() => undefined);
      expect(after.timeouts).toBeLessThanOrEqual(before.timeouts + RESOURCE_SLACK);
      expect(after.sockets).toBeLessThanOrEqual(before.sockets + RESOURCE_SLACK);

      // And the gateway still works.
      await oneSession(app.baseUrl, await mintTicket(app.baseUrl), 0);
    } finally {
      await app.close();
    }
  }, 90_000);
});
