// The module inside a host application: forRootAsync from the host's config, the host's own routes
// still served, and the host's replacements (ticket store, key verifier) actually used.
import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { TicketRepository } from '../../src/index.js';
import { createHttpApp, PLATFORMS, withHttpApp, type Platform } from '../helpers/http-app.js';
import { RecordingTicketRepository } from '../helpers/fakes.js';
import { expectError, expectMinted, request } from '../helpers/mint-client.js';
import { RUNTIME_KEY } from '../helpers/realtime-app.js';
import {
  HOST_API_KEY,
  HOST_PUBLIC_URL,
  HostAppModule,
  HostAppWithKeyStoreModule,
  HostKeyStore,
} from './host-app.module.js';

describe.each(PLATFORMS)('host app (%s)', (platform: Platform) => {
  it('forRootAsync with the host config: minting works with the configured key and public URL', async () => {
    await withHttpApp(createHttpApp(platform, HostAppModule), async (app) => {
      const minted = expectMinted(await request(app.baseUrl, { apiKey: HOST_API_KEY.key, json: { ttl_seconds: 10 } }));
      // HOST_PUBLIC_URL is https://voice.host.example
      expect(minted.ws_url).toBe(`${HOST_PUBLIC_URL.replace(/^https/, 'wss')}/v3/realtime?ticket=${minted.client_secret}`);
      // Only the keys from the host config are accepted.
      expectError(await request(app.baseUrl, { apiKey: RUNTIME_KEY.key }), 401, 'invalid_api_key');
    });
  });

  it("the host's own routes keep working beside the module", async () => {
    await withHttpApp(createHttpApp(platform, HostAppModule), async (app) => {
      const status = await request(app.baseUrl, { method: 'GET', path: '/host/status' });
      expect({ status: status.status, body: status.json }).toEqual({ status: 200, body: { ok: true } });
      const forbidden = await request(app.baseUrl, { method: 'GET', path: '/host/forbidden' });
      expect(forbidden.json).toEqual({ statusCode: 403, message: 'host says no', error: 'Forbidden' });
    });
  });

  it('overrideProvider(TicketRepository) receives the minted ticket', async () => {
    const fake = new RecordingTicketRepository();
    const app = createHttpApp(platform, HostAppModule, {
      configure: (builder) => builder.overrideProvider(TicketRepository).useValue(fake),
    });
    await withHttpApp(app, async (started) => {
      const minted = expectMinted(
        await request(started.baseUrl, { apiKey: HOST_API_KEY.key, json: { config: { model: 'loopback/echo', voice: 'alloy' } } }),
      );
      expect(fake.saved).toHaveLength(1);
      expect(fake.last).toMatchObject({
        id: createHash('sha256').update(minted.client_secret).digest('hex'),
        projectId: HOST_API_KEY.projectId,
        keyId: HOST_API_KEY.keyId,
        config: { model: 'loopback/echo', voice: 'alloy' },
      });
    });
  });

  it('a custom ApiKeyVerifier backed by a host service (forRootAsync inject) is used', async () => {
    const app = createHttpApp(platform, HostAppWithKeyStoreModule, {
      configure: (builder) => builder.overrideProvider(TicketRepository).useValue(new RecordingTicketRepository()),
    });
    await withHttpApp(app, async (started) => {
      const store = started.app.get(HostKeyStore);
      const tickets = started.app.get(TicketRepository, { strict: false }) as RecordingTicketRepository;
      expectMinted(await request(started.baseUrl, { apiKey: 'host-db-key-1' }));
      expect(tickets.last).toMatchObject({ projectId: 'proj_db', keyId: 'db_key_1' });
      expectError(await request(started.baseUrl, { apiKey: 'host-db-key-2' }), 401, 'invalid_api_key');
      expect(store.lookups).toEqual(['host-db-key-1', 'host-db-key-2']);
      // opmak- keys never reach the host's store.
      expectError(await request(started.baseUrl, { apiKey: 'opmak-host' }), 401, 'management_key_not_allowed');
      expect(store.lookups).toHaveLength(2);
    });
  });
});
