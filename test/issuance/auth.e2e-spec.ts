// docs/protocol.md §1, auth: who may mint. Every refusal is a 401 (503 when keys cannot be checked)
// with the `{"error":{...}}` body, on Express and on Fastify.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { RecordingApiKeyVerifier } from '../helpers/fakes.js';
import { expectError, expectMinted, request } from '../helpers/mint-client.js';
import { startRealtimeApp, withRealtimeApp, RUNTIME_KEY } from '../helpers/realtime-app.js';

describe.each(PLATFORMS)('minting auth (%s)', (platform) => {
  describe('with the default verifier (apiKeys option)', () => {
    let app: HttpApp;
    beforeAll(async () => {
      app = await startRealtimeApp(platform, {
        apiKeys: [RUNTIME_KEY, { key: 'rtk-no-project' }, { key: 'mgmt-style-key', projectId: 'proj_a', kind: 'management' }],
      });
    });
    afterAll(() => app.close());

    it('mints with a known runtime key', async () => {
      expectMinted(await request(app.baseUrl, { apiKey: RUNTIME_KEY.key }));
    });

    it('accepts the scheme name in any case', async () => {
      expectMinted(await request(app.baseUrl, { authorization: `bearer ${RUNTIME_KEY.key}` }));
    });

    it('refuses a request without an Authorization header', async () => {
      expectError(await request(app.baseUrl, { apiKey: null }), 401, 'missing_credentials');
    });

    it.each([
      ['another scheme', 'Basic abc'],
      ['Bearer without a token', 'Bearer'],
      ['a token that is not token68', 'Bearer two words'],
      ['a key without a scheme', RUNTIME_KEY.key],
    ])('refuses a malformed header: %s', async (_label, authorization) => {
      expectError(await request(app.baseUrl, { authorization }), 401, 'invalid_authorization_header');
    });

    it('refuses an unknown key', async () => {
      expectError(await request(app.baseUrl, { apiKey: 'rtk-nobody-has-this' }), 401, 'invalid_api_key');
    });

    it('refuses a known key with a different case (keys are compared exactly)', async () => {
      expectError(await request(app.baseUrl, { apiKey: RUNTIME_KEY.key.toUpperCase() }), 401, 'invalid_api_key');
    });

    it('refuses a key that is not a runtime key', async () => {
      expectError(await request(app.baseUrl, { apiKey: 'mgmt-style-key' }), 401, 'not_runtime_key');
    });

    it('refuses a key without a project', async () => {
      expectError(await request(app.baseUrl, { apiKey: 'rtk-no-project' }), 401, 'key_without_project');
    });

    it('checks auth before the body: a bad key with a bad body is a 401', async () => {
      expectError(await request(app.baseUrl, { apiKey: 'rtk-nobody-has-this', json: { ttl_seconds: 'x' } }), 401, 'invalid_api_key');
    });
  });

  describe('with a custom ApiKeyVerifier (apiKeyVerifier option)', () => {
    const verifier = new RecordingApiKeyVerifier({
      'rtk-custom': { keyId: 'key_custom', projectId: 'proj_c', kind: 'runtime' },
      'rtk-management': { keyId: 'key_m', projectId: 'proj_c', kind: 'management' },
      'rtk-orphan': { keyId: 'key_o', projectId: undefined, kind: 'runtime' },
      'rtk-broken-store': 'throw',
    });
    let app: HttpApp;
    beforeAll(async () => {
      // apiKeys is set too: the custom verifier must win over it.
      app = await startRealtimeApp(platform, { apiKeyVerifier: verifier });
    });
    afterAll(() => app.close());

    it('uses the custom verifier instead of apiKeys', async () => {
      expectMinted(await request(app.baseUrl, { apiKey: 'rtk-custom' }));
      expectError(await request(app.baseUrl, { apiKey: RUNTIME_KEY.key }), 401, 'invalid_api_key');
      expect(verifier.calls).toEqual(expect.arrayContaining(['rtk-custom', RUNTIME_KEY.key]));
    });

    it('maps kind "management" to not_runtime_key', async () => {
      expectError(await request(app.baseUrl, { apiKey: 'rtk-management' }), 401, 'not_runtime_key');
    });

    it('maps a missing projectId to key_without_project', async () => {
      expectError(await request(app.baseUrl, { apiKey: 'rtk-orphan' }), 401, 'key_without_project');
    });

    it('refuses opmak- keys before any lookup', async () => {
      const callsBefore = verifier.calls.length;
      const error = expectError(await request(app.baseUrl, { apiKey: 'opmak-0123456789abcdef' }), 401, 'management_key_not_allowed');
      expect(error.message).not.toContain('opmak-0123456789abcdef');
      expect(verifier.calls.length).toBe(callsBefore);
      expect(verifier.calls.some((key) => key.startsWith('opmak-'))).toBe(false);
    });

    it('fails closed with 503 when the verifier throws, without echoing the key', async () => {
      const error = expectError(await request(app.baseUrl, { apiKey: 'rtk-broken-store' }), 503, 'auth_unavailable');
      expect(JSON.stringify(error)).not.toContain('rtk-broken-store');
    });
  });

  it('a module without any key refuses every bearer', async () => {
    await withRealtimeApp(platform, { apiKeys: [] }, async (app) => {
      expectError(await request(app.baseUrl, { apiKey: RUNTIME_KEY.key }), 401, 'invalid_api_key');
    });
  });
});
