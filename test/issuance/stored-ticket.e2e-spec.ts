// docs/protocol.md §1, ticket storage: the store gets a SHA-256 digest of the secret (never the secret)
// and what the ticket binds: project, key id, config, locked fields, expiry.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TicketRepository } from '../../src/index.js';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { RecordingTicketRepository } from '../helpers/fakes.js';
import { expectMinted, request } from '../helpers/mint-client.js';
import { FULL_OPENAI_CONFIG, RUNTIME_KEY, startRealtimeApp, withRealtimeApp } from '../helpers/realtime-app.js';

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

describe.each(PLATFORMS)('stored ticket (%s)', (platform) => {
  const repository = new RecordingTicketRepository();
  const keyWithoutId = { key: 'rtk-key-without-explicit-id', projectId: 'proj_b' };
  let app: HttpApp;
  beforeAll(async () => {
    app = await startRealtimeApp(platform, { ticketRepository: repository, apiKeys: [RUNTIME_KEY, keyWithoutId] });
  });
  afterAll(() => app.close());

  async function mintAndCapture(apiKey: string, json: unknown) {
    const savedBefore = repository.saved.length;
    const before = Date.now();
    const minted = expectMinted(await request(app.baseUrl, { apiKey, json }));
    const after = Date.now();
    expect(repository.saved.length).toBe(savedBefore + 1);
    return { minted, record: repository.last, before, after };
  }

  it('stores the SHA-256 hex of the secret as id, and the secret nowhere', async () => {
    const { minted, record } = await mintAndCapture(RUNTIME_KEY.key, { config: FULL_OPENAI_CONFIG });
    expect(record.id).toMatch(/^[0-9a-f]{64}$/);
    expect(record.id).toBe(sha256Hex(minted.client_secret));
    const stored = JSON.stringify(record);
    expect(stored).not.toContain(minted.client_secret);
    // Not even in another encoding of the same bytes.
    expect(stored).not.toContain(Buffer.from(minted.client_secret, 'base64url').toString('hex'));
    expect(stored).not.toContain(Buffer.from(minted.client_secret, 'base64url').toString('base64'));
  });

  it('binds project, key id, config, locked fields and expiry as requested', async () => {
    const { minted, record, before, after } = await mintAndCapture(RUNTIME_KEY.key, {
      config: { model: 'openai/gpt-realtime-2', voice: 'cedar', instructions: 'Be brief.' },
      locked_fields: ['tools', 'temperature', 'tools'],
      ttl_seconds: 90,
    });
    expect(record).toEqual({
      id: sha256Hex(minted.client_secret),
      projectId: 'proj_a',
      keyId: 'key_a',
      // Only what the request set: no defaults are filled in at mint.
      config: { model: 'openai/gpt-realtime-2', voice: 'cedar', instructions: 'Be brief.' },
      lockedFields: ['tools', 'temperature'],
      createdAt: expect.any(Number),
      expiresAt: expect.any(Number),
      // The public id the response gave, drawn apart from the secret.
      publicId: minted.id,
    });
    expect(record.createdAt).toBeGreaterThanOrEqual(before);
    expect(record.createdAt).toBeLessThanOrEqual(after);
    expect(record.expiresAt - record.createdAt).toBe(90_000);
    // expires_at is the stored expiry rounded down to the second.
    expect(Date.parse(minted.expires_at)).toBe(Math.floor(record.expiresAt / 1000) * 1000);
  });

  it('binds a full config unchanged', async () => {
    const { record } = await mintAndCapture(RUNTIME_KEY.key, { config: FULL_OPENAI_CONFIG, locked_fields: ['instructions'] });
    expect(record.config).toEqual(FULL_OPENAI_CONFIG);
    expect(record.lockedFields).toEqual(['instructions']);
  });

  it('an empty body binds nothing and lasts 60 s', async () => {
    const { record } = await mintAndCapture(RUNTIME_KEY.key, undefined);
    expect(record.config).toEqual({});
    expect(record.lockedFields).toEqual([]);
    expect(record.expiresAt - record.createdAt).toBe(60_000);
  });

  it('a key without an explicit keyId gets a derived id that does not contain the key', async () => {
    const { record } = await mintAndCapture(keyWithoutId.key, {});
    expect(record.projectId).toBe('proj_b');
    expect(record.keyId).toMatch(/^key_[0-9a-f]{12}$/);
    expect(record.keyId).toBe(`key_${sha256Hex(keyWithoutId.key).slice(0, 12)}`);
    expect(JSON.stringify(record)).not.toContain(keyWithoutId.key);
  });

  it('every mint stores its own record', async () => {
    const first = await mintAndCapture(RUNTIME_KEY.key, {});
    const second = await mintAndCapture(RUNTIME_KEY.key, {});
    expect(first.record.id).not.toBe(second.record.id);
  });
});

describe.each(PLATFORMS)('default ticket store (%s)', (platform) => {
  it('holds the minted ticket under the digest of its secret, for exactly one redemption', async () => {
    await withRealtimeApp(platform, {}, async (app) => {
      const minted = expectMinted(await request(app.baseUrl, { apiKey: RUNTIME_KEY.key, json: { config: { voice: 'marin' } } }));
      const store = app.app.get(TicketRepository, { strict: false });
      expect(await store.consume(minted.client_secret)).toBeNull();
      const record = await store.consume(sha256Hex(minted.client_secret));
      expect(record).toMatchObject({ projectId: 'proj_a', keyId: 'key_a', config: { voice: 'marin' } });
      expect(await store.consume(sha256Hex(minted.client_secret))).toBeNull();
    });
  });
});
