// Client resume across two gateway instances on one real Redis (README "Client resume", several
// instances): resume tokens are instance-local by design. A resume that lands on the instance
// running the session re-attaches; one that lands on the other instance gets 401
// `invalid_resume_token` (the client then starts a new session) and does not spend the token.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RealtimeEndpoint } from '../../src/index.js';
import { PLATFORMS, type HttpApp, type Platform } from '../helpers/http-app.js';
import { RUNTIME_KEY, startRealtimeApp } from '../helpers/realtime-app.js';
import { describeWithRedisProcess, startRedisServer, uniquePrefix, type RedisServer } from '../helpers/redis-server.js';
import { closeAll, connect, eventually, MARKER_PROTOCOL, openWithTicket, type RealtimeTestClient } from '../helpers/ws-client.js';
import { RecordingSessionEvents } from '../helpers/fakes.js';


describeWithRedisProcess('client resume across two instances on one Redis', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedisServer();
  }, 30_000);
  afterAll(async () => {
    await redis?.close();
  });

  describe.each(PLATFORMS)('on %s', (platform: Platform) => {
    let a: HttpApp;
    let b: HttpApp;
    const hooks = { a: new RecordingSessionEvents(), b: new RecordingSessionEvents() };
    const clients: RealtimeTestClient[] = [];

    beforeAll(async () => {
      const prefix = uniquePrefix(`resume-${platform}`);
      const options = (name: 'a' | 'b') => ({ apiKeys: [RUNTIME_KEY], redis: { url: redis.url, keyPrefix: prefix }, sessionEvents: hooks[name], instanceId: `instance-${name}` });
      [a, b] = await Promise.all([startRealtimeApp(platform, options('a')), startRealtimeApp(platform, options('b'))]);
    }, 30_000);
    afterAll(async () => {
      await closeAll(clients);
      await Promise.all([a?.close(), b?.close()]);
    });

    const resume = (on: HttpApp, token: string): RealtimeTestClient => {
      const client = connect(on.baseUrl, { protocols: [MARKER_PROTOCOL, `opper-resume.${token}`] });
      clients.push(client);
      return client;
    };

    it('a resume on the other instance gets 401; on the owning instance it re-attaches', async () => {
      // Minted through A, redeemed on A: the session runs on A.
      const client = await openWithTicket(a.baseUrl, { config: { model: 'loopback/echo' } });
      clients.push(client);
      const started = await client.start({});
      const token = String(started.resume_token);
      client.ws.terminate();
      await eventually(() => a.app.get(RealtimeEndpoint).connectedSockets === 0, 'A noticed the drop');

      const elsewhere = await resume(b, token).rejected();
      expect(elsewhere.status).toBe(401);
      expect(elsewhere.json).toMatchObject({ error: { code: 'invalid_resume_token' } });

      const home = resume(a, token);
      expect(await home.opened()).toBe(MARKER_PROTOCOL);
      expect((await home.next('session.resumed')).session_id).toBe(started.session_id);
      home.send({ type: 'text.input', text: 'still here' });
      home.send({ type: 'response.create' });
      await home.next('response.completed');
      expect(hooks.a.ended).toHaveLength(0);
      expect(hooks.b.ended).toHaveLength(0);
    });
  });
});
