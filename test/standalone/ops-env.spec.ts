// The standalone server's operability settings (LOG_LEVEL, LOG_FORMAT, METRICS_ENABLED,
// REALTIME_DRAIN_SECONDS): defaults, accepted spellings, and errors naming the variable; and the
// standalone app serving its OpenAPI document.
import { describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createStandaloneApp } from '../../src/standalone/create-app.js';
import { EnvConfigError, loadStandaloneConfig } from '../../src/standalone/env-config.js';
import { loadOpsConfig } from '../../src/standalone/ops-env.js';

function opsError(env: NodeJS.ProcessEnv): string {
  try {
    loadOpsConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(EnvConfigError);
    return (err as Error).message;
  }
  throw new Error(`loadOpsConfig accepted ${JSON.stringify(env)}`);
}

describe('loadOpsConfig', () => {
  it('defaults: info, json, metrics on, 30 s drain', () => {
    expect(loadOpsConfig({})).toEqual({ logLevel: 'info', logFormat: 'json', metricsEnabled: true, drainSeconds: 30 });
  });

  it('reads every variable', () => {
    expect(loadOpsConfig({ LOG_LEVEL: ' DEBUG ', LOG_FORMAT: 'Pretty', METRICS_ENABLED: 'false', REALTIME_DRAIN_SECONDS: '0' })).toEqual({
      logLevel: 'debug',
      logFormat: 'pretty',
      metricsEnabled: false,
      drainSeconds: 0,
    });
  });

  it('refuses bad values, naming the variable', () => {
    expect(opsError({ LOG_LEVEL: 'loud' })).toMatch(/^LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"$/);
    expect(opsError({ LOG_FORMAT: 'xml' })).toMatch(/^LOG_FORMAT must be json or pretty/);
    expect(opsError({ METRICS_ENABLED: 'maybe' })).toMatch(/^METRICS_ENABLED must be true or false/);
    expect(opsError({ REALTIME_DRAIN_SECONDS: '-1' })).toMatch(/^REALTIME_DRAIN_SECONDS must be an integer in \[0, 3600\]/);
    expect(opsError({ REALTIME_DRAIN_SECONDS: '3601' })).toMatch(/REALTIME_DRAIN_SECONDS/);
  });
});

describe('the standalone app', () => {
  it('serves the OpenAPI document at /docs-json and the UI at /docs', async () => {
    const app: INestApplication = await createStandaloneApp(loadStandaloneConfig({ REALTIME_API_KEYS: 'p1:k1', REALTIME_DEMO: 'false' }), { logger: false });
    try {
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as { port: number };
      const doc = (await (await fetch(`http://127.0.0.1:${port}/docs-json`)).json()) as any;
      expect(Object.keys(doc.components.schemas.CreateRealtimeSessionDto.properties).sort()).toEqual(['allowed_origins', 'config', 'locked_fields', 'metadata', 'ttl_seconds']);
      expect((await fetch(`http://127.0.0.1:${port}/docs`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
