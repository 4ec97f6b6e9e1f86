// The standalone server's environment parsing: API keys, the dev key, PORT, REALTIME_TICKETS_ENABLED,
// PUBLIC_URL and each provider's variables. Bad values must stop the server with a message naming
// the variable (and never echoing a key).
import { describe, expect, it } from '@jest/globals';
import { BUILT_IN_PROVIDERS } from '../../src/providers/built-in-providers.js';
import { EnvConfigError, loadStandaloneConfig, providerSettings } from '../../src/standalone/env-config.js';
import { toyProvider } from '../fakes/toy/toy.provider.js';
import { StandaloneAppModule } from '../../src/standalone/app.module.js';
import { createHttpApp, PLATFORMS, withHttpApp } from '../helpers/http-app.js';
import { expectError, expectMinted, request } from '../helpers/mint-client.js';

/** The EnvConfigError `loadStandaloneConfig(env)` throws; fails the test when it does not throw. */
function configError(env: NodeJS.ProcessEnv): EnvConfigError {
  try {
    loadStandaloneConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(EnvConfigError);
    return err as EnvConfigError;
  }
  throw new Error(`loadStandaloneConfig accepted ${JSON.stringify(env)}`);
}

const KEYS = { REALTIME_API_KEYS: 'p1:k1' };

describe('loadStandaloneConfig', () => {
  describe('REALTIME_API_KEYS', () => {
    it('parses <project>:<key> pairs', () => {
      const config = loadStandaloneConfig({ REALTIME_API_KEYS: 'p1:k1,p2:k2' });
      expect(config.options.apiKeys).toEqual([
        { projectId: 'p1', key: 'k1' },
        { projectId: 'p2', key: 'k2' },
      ]);
      expect(config.devApiKey).toBeUndefined();
    });

    it('trims spaces around entries', () => {
      const config = loadStandaloneConfig({ REALTIME_API_KEYS: ' p1:k1 , p2:k2 ' });
      expect(config.options.apiKeys).toEqual([
        { projectId: 'p1', key: 'k1' },
        { projectId: 'p2', key: 'k2' },
      ]);
    });

    it.each([
      ['a bare key', 'rtk-SECRET-bare-value'],
      ['a key without a project', ':rtk-SECRET-no-project'],
      ['a project without a key', 'proj-SECRET-only:'],
      ['an empty entry', 'p1:k1,,p2:k2'],
      ['a bad second entry', 'p1:k1,rtk-SECRET-second'],
    ])('rejects %s, naming the entry but never echoing it', (_label, value) => {
      const error = configError({ REALTIME_API_KEYS: value });
      expect(error.message).toContain('REALTIME_API_KEYS');
      expect(error.message).toMatch(/entry #\d+/);
      expect(error.message).not.toContain('SECRET');
      for (const part of value.split(/[,:]/).filter((p) => p.length > 2)) expect(error.message).not.toContain(part);
    });

    it('reports which entry is malformed', () => {
      expect(configError({ REALTIME_API_KEYS: 'p1:k1,p2:k2,oops' }).message).toContain('#3');
    });

    it.each([
      ['unset', {}],
      ['empty', { REALTIME_API_KEYS: '' }],
      ['blank', { REALTIME_API_KEYS: '   ' }],
    ])('generates a dev key of project "dev" when %s', (_label, env) => {
      const config = loadStandaloneConfig(env);
      expect(config.devApiKey).toMatch(/^rtk-dev-[A-Za-z0-9_-]{32,}$/);
      expect(config.options.apiKeys).toEqual([{ projectId: 'dev', key: config.devApiKey, keyId: 'dev' }]);
      // A fresh one at every start.
      expect(loadStandaloneConfig(env).devApiKey).not.toBe(config.devApiKey);
    });
  });

  describe('PORT and HOST', () => {
    it.each([
      [undefined, 8080],
      ['', 8080],
      ['3000', 3000],
      ['0', 0],
      ['65535', 65535],
    ])('PORT=%s → %i', (port, expected) => {
      expect(loadStandaloneConfig({ ...KEYS, PORT: port }).port).toBe(expected);
    });

    it.each(['abc', '80.5', '-1', '65536', '8080abc'])('PORT=%s is refused with a message naming PORT', (port) => {
      const error = configError({ ...KEYS, PORT: port });
      expect(error.message).toContain('PORT');
      expect(error.message).toContain(port);
    });

    it('HOST is optional', () => {
      expect(loadStandaloneConfig(KEYS).host).toBeUndefined();
      expect(loadStandaloneConfig({ ...KEYS, HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
    });
  });

  describe('REALTIME_TICKETS_ENABLED', () => {
    it.each([
      [undefined, true],
      ['', true],
      ['true', true],
      ['1', true],
      ['yes', true],
      [' ON ', true],
      ['false', false],
      ['0', false],
      ['no', false],
      ['OFF', false],
    ])('%s → %s', (value, expected) => {
      expect(loadStandaloneConfig({ ...KEYS, REALTIME_TICKETS_ENABLED: value }).options.ticketsEnabled).toBe(expected);
    });

    it('anything else is refused with a message naming the variable', () => {
      expect(configError({ ...KEYS, REALTIME_TICKETS_ENABLED: 'maybe' }).message).toContain('REALTIME_TICKETS_ENABLED');
    });
  });

  describe('REALTIME_ALLOWED_ORIGINS', () => {
    it('is absent by default (any origin) and lists canonical origins when set', () => {
      expect(loadStandaloneConfig(KEYS).options.allowedOrigins).toBeUndefined();
      expect(loadStandaloneConfig({ ...KEYS, REALTIME_ALLOWED_ORIGINS: 'https://App.example.com , http://localhost:3000/' }).options.allowedOrigins).toEqual([
        'https://app.example.com',
        'http://localhost:3000',
      ]);
    });

    it('stops the server on an entry that is not an origin, naming the variable', () => {
      expect(() => loadStandaloneConfig({ ...KEYS, REALTIME_ALLOWED_ORIGINS: 'https://a.example/path' })).toThrow(EnvConfigError);
      expect(() => loadStandaloneConfig({ ...KEYS, REALTIME_ALLOWED_ORIGINS: 'app.example.com' })).toThrow(/REALTIME_ALLOWED_ORIGINS entry #1/);
    });
  });

  describe('session continuity (REALTIME_ROTATION_MARGIN_SECONDS, REALTIME_RESUME_GRACE_SECONDS)', () => {
    it('defaults to a 60 s rotation margin and a 15 s resume window; 0 turns resume off', () => {
      expect(loadStandaloneConfig(KEYS).options.limits).toMatchObject({ rotationMarginSeconds: 60, resumeGraceSeconds: 15 });
      const set = loadStandaloneConfig({ ...KEYS, REALTIME_ROTATION_MARGIN_SECONDS: '30', REALTIME_RESUME_GRACE_SECONDS: '0' });
      expect(set.options.limits).toMatchObject({ rotationMarginSeconds: 30, resumeGraceSeconds: 0 });
    });

    it('refuses a negative or non-integer value, naming the variable', () => {
      expect(configError({ ...KEYS, REALTIME_RESUME_GRACE_SECONDS: '-1' }).message).toContain('REALTIME_RESUME_GRACE_SECONDS');
      expect(configError({ ...KEYS, REALTIME_ROTATION_MARGIN_SECONDS: '0' }).message).toContain('REALTIME_ROTATION_MARGIN_SECONDS');
    });
  });

  describe('warm upstreams (REALTIME_WARM_UPSTREAMS, REALTIME_WARM_IDLE_SECONDS, REALTIME_WARM_MODELS)', () => {
    it('is off by default; a size turns it on with a 30 s idle time and every model that can be pooled', () => {
      expect(loadStandaloneConfig(KEYS).options.warmUpstreams).toBeUndefined();
      expect(loadStandaloneConfig({ ...KEYS, REALTIME_WARM_UPSTREAMS: '0' }).options.warmUpstreams).toBeUndefined();
      expect(loadStandaloneConfig({ ...KEYS, REALTIME_WARM_UPSTREAMS: '2' }).options.warmUpstreams).toEqual({ size: 2, idleSeconds: 30 });
      const set = loadStandaloneConfig({ ...KEYS, REALTIME_WARM_UPSTREAMS: '1', REALTIME_WARM_IDLE_SECONDS: '10', REALTIME_WARM_MODELS: 'openai/gpt-realtime-2, gemini/gemini-3.1-flash-live-preview' });
      expect(set.options.warmUpstreams).toEqual({ size: 1, idleSeconds: 10, models: ['openai/gpt-realtime-2', 'gemini/gemini-3.1-flash-live-preview'] });
    });

    it('refuses a bad value, naming the variable', () => {
      expect(configError({ ...KEYS, REALTIME_WARM_UPSTREAMS: '-1' }).message).toContain('REALTIME_WARM_UPSTREAMS');
      expect(configError({ ...KEYS, REALTIME_WARM_UPSTREAMS: '1', REALTIME_WARM_IDLE_SECONDS: '0' }).message).toContain('REALTIME_WARM_IDLE_SECONDS');
    });
  });

  describe('PUBLIC_URL', () => {
    it('is optional', () => {
      expect(loadStandaloneConfig(KEYS).options.publicUrl).toBeUndefined();
      expect(loadStandaloneConfig({ ...KEYS, PUBLIC_URL: '  ' }).options.publicUrl).toBeUndefined();
    });

    it.each([
      ['https://voice.example.com', 'https://voice.example.com'],
      ['http://localhost:8080', 'http://localhost:8080'],
      ['wss://voice.example.com', 'https://voice.example.com'],
      ['ws://localhost:8080', 'http://localhost:8080'],
    ])('%s → publicUrl %s', (value, expected) => {
      expect(loadStandaloneConfig({ ...KEYS, PUBLIC_URL: value }).options.publicUrl).toBe(expected);
    });

    it.each(['voice.example.com', 'ftp://voice.example.com', 'https://', '/v3'])('%s is refused with a message naming PUBLIC_URL', (value) => {
      expect(configError({ ...KEYS, PUBLIC_URL: value }).message).toContain('PUBLIC_URL');
    });
  });

  describe('provider variables (one pair per provider with a key, from its definition)', () => {
    it('no key → the provider is not configured', () => {
      expect(loadStandaloneConfig(KEYS).options.credentials).toEqual({ loopback: { enabled: true } });
    });

    it.each(BUILT_IN_PROVIDERS.flatMap((plugin) => (plugin.access.kind === 'api-key' ? [[plugin.name, plugin.access.envPrefix]] : [])))(
      '%s: <%s>_API_KEY and _BASE_URL',
      (name, prefix) => {
        const config = loadStandaloneConfig({ ...KEYS, [`${prefix}_API_KEY`]: ' key-1 ', [`${prefix}_BASE_URL`]: 'http://127.0.0.1:7/v1' });
        expect(config.options.credentials?.[name]).toEqual({ apiKey: 'key-1', baseUrl: 'http://127.0.0.1:7/v1' });
        expect(configError({ ...KEYS, [`${prefix}_BASE_URL`]: 'not-a-url' }).message).toContain(`${prefix}_BASE_URL`);
      },
    );

    it('a provider added to the list is read the same way', () => {
      const settings = providerSettings({ TOY_API_KEY: 'toy-1', TOY_BASE_URL: 'https://toy.example' }, [...BUILT_IN_PROVIDERS, toyProvider]);
      expect(settings.toy).toEqual({ apiKey: 'toy-1', baseUrl: 'https://toy.example' });
    });

    it.each([
      [undefined, true],
      ['', true],
      ['false', false],
      ['1', true],
    ])('REALTIME_LOOPBACK_ENABLED=%s → loopback %s (on by default in the standalone server)', (value, expected) => {
      expect(loadStandaloneConfig({ ...KEYS, REALTIME_LOOPBACK_ENABLED: value }).options.credentials?.loopback).toEqual({ enabled: expected });
    });

    it('REALTIME_LOOPBACK_ENABLED=maybe is refused with a message naming the variable', () => {
      expect(configError({ ...KEYS, REALTIME_LOOPBACK_ENABLED: 'maybe' }).message).toContain('REALTIME_LOOPBACK_ENABLED');
    });
  });

  it('renders every error of the standalone app with the error body', () => {
    expect(loadStandaloneConfig(KEYS).options.formatAllErrors).toBe(true);
  });
});

describe.each(PLATFORMS)('standalone app from the environment (%s)', (platform) => {
  const start = (env: NodeJS.ProcessEnv) => createHttpApp(platform, StandaloneAppModule.register(loadStandaloneConfig(env)));

  it('mints with a key from REALTIME_API_KEYS and builds ws_url from PUBLIC_URL', async () => {
    await withHttpApp(start({ REALTIME_API_KEYS: 'p1:k1,p2:k2', PUBLIC_URL: 'wss://voice.example.com' }), async (app) => {
      const minted = expectMinted(await request(app.baseUrl, { apiKey: 'k2' }));
      expect(minted.ws_url).toBe(`wss://voice.example.com/v3/realtime?ticket=${minted.client_secret}`);
      expectError(await request(app.baseUrl, { apiKey: 'p1' }), 401, 'invalid_api_key');
      expectError(await request(app.baseUrl, { method: 'GET', path: '/anything' }), 404, 'not_found');
    });
  });

  it('mints with the generated dev key', async () => {
    const config = loadStandaloneConfig({});
    await withHttpApp(createHttpApp(platform, StandaloneAppModule.register(config)), async (app) => {
      expectMinted(await request(app.baseUrl, { apiKey: config.devApiKey }));
    });
  });

  it('serves loopback/echo by default, not with REALTIME_LOOPBACK_ENABLED=false', async () => {
    const echo = { apiKey: 'k1', json: { config: { model: 'loopback/echo' } } };
    await withHttpApp(start(KEYS), async (app) => {
      expectMinted(await request(app.baseUrl, echo));
      expectError(await request(app.baseUrl, { apiKey: 'k1', json: { config: { model: 'openai/gpt-realtime-2' } } }), 400, 'provider_not_configured');
    });
    await withHttpApp(start({ ...KEYS, REALTIME_LOOPBACK_ENABLED: 'false', OPENAI_API_KEY: 'sk-x' }), async (app) => {
      expectError(await request(app.baseUrl, echo), 400, 'provider_not_configured');
      expectMinted(await request(app.baseUrl, { apiKey: 'k1', json: { config: { model: 'openai/gpt-realtime-2' } } }));
    });
  });

  it('REALTIME_TICKETS_ENABLED=false → 503 tickets_disabled', async () => {
    await withHttpApp(start({ ...KEYS, REALTIME_TICKETS_ENABLED: 'false' }), async (app) => {
      expectError(await request(app.baseUrl, { apiKey: 'k1' }), 503, 'tickets_disabled');
    });
  });
});
