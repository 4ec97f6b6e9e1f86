// GET /health/live and /health/ready over real HTTP on Express and Fastify: ready follows its
// checks (fails, then recovers), a hanging check is cut by its timeout, drain turns ready to 503,
// and an app-wide error filter cannot rewrite the 503.
import { describe, expect, it, jest } from '@jest/globals';
import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { APP_FILTER, HttpAdapterHost } from '@nestjs/core';
import { DrainState, HealthModule, ReadinessChecks, pingCheck } from '../../src/health/index.js';
import { createHttpApp, PLATFORMS, withHttpApp } from '../helpers/http-app.js';

async function get(baseUrl: string, path: string) {
  const res = await fetch(baseUrl + path);
  return { status: res.status, body: (await res.json()) as any };
}

/** A filter like the module's formatAllErrors one: every HttpException rendered as 500. */
@Catch()
class RewriteEverythingFilter implements ExceptionFilter {
  constructor(private readonly host: HttpAdapterHost) {}
  catch(exception: unknown, host: ArgumentsHost): void {
    const status = exception instanceof HttpException && exception.getStatus() < 500 ? exception.getStatus() : 500;
    this.host.httpAdapter.reply(host.switchToHttp().getResponse(), { error: { code: 'internal_error' } }, status);
  }
}

describe.each(PLATFORMS)('health on %s', (platform) => {
  it('live is 200; ready is 200 with no checks', async () => {
    await withHttpApp(createHttpApp(platform, HealthModule.register()), async (app) => {
      expect(await get(app.baseUrl, '/health/live')).toEqual({ status: 200, body: expect.objectContaining({ status: 'ok' }) });
      expect(await get(app.baseUrl, '/health/ready')).toEqual({ status: 200, body: expect.objectContaining({ status: 'ok' }) });
    });
  });

  it('ready is 503 while a check fails and 200 again when it recovers; live stays 200', async () => {
    let redisUp = true;
    const store = { ping: async () => { if (!redisUp) throw new Error('Connection is closed.'); } };
    await withHttpApp(createHttpApp(platform, HealthModule.register({ checks: [pingCheck('ticket_store', store)] })), async (app) => {
      const limiterUp = { ping: jest.fn(async () => undefined) };
      app.app.get(ReadinessChecks).register(pingCheck('session_limiter', limiterUp));

      let ready = await get(app.baseUrl, '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.info).toEqual({ ticket_store: expect.objectContaining({ status: 'up' }), session_limiter: expect.objectContaining({ status: 'up' }) });

      redisUp = false;
      ready = await get(app.baseUrl, '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.status).toBe('error');
      expect(ready.body.error.ticket_store).toEqual(expect.objectContaining({ status: 'down', message: 'Connection is closed.' }));
      expect(ready.body.info.session_limiter.status).toBe('up');
      expect((await get(app.baseUrl, '/health/live')).status).toBe(200);

      redisUp = true;
      expect((await get(app.baseUrl, '/health/ready')).status).toBe(200);
      expect(limiterUp.ping).toHaveBeenCalledTimes(3);
    });
  });

  it('a check that hangs is down after its timeout', async () => {
    const frozen = { ping: () => new Promise<void>(() => undefined) };
    await withHttpApp(createHttpApp(platform, HealthModule.register({ checkTimeoutMs: 150, checks: [pingCheck('ticket_store', frozen)] })), async (app) => {
      const started = Date.now();
      const ready = await get(app.baseUrl, '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.error.ticket_store.message).toMatch(/timeout of 150ms exceeded/);
      expect(Date.now() - started).toBeLessThan(2000);
    });
  });

  it('a check that is removed no longer counts; messages never carry a URL', async () => {
    await withHttpApp(createHttpApp(platform, HealthModule.register()), async (app) => {
      const remove = app.app.get(ReadinessChecks).register({
        name: 'ticket_store',
        check: async () => {
          throw new Error('connect ECONNREFUSED redis://:secret@10.0.0.1:6379');
        },
      });
      const ready = await get(app.baseUrl, '/health/ready');
      expect(ready.status).toBe(503);
      expect(JSON.stringify(ready.body)).not.toContain('secret');
      remove();
      expect((await get(app.baseUrl, '/health/ready')).status).toBe(200);
    });
  });

  it('drain turns ready to 503 (live stays 200) and notifies subscribers once', async () => {
    await withHttpApp(createHttpApp(platform, HealthModule.register()), async (app) => {
      const drain = app.app.get(DrainState);
      const listener = jest.fn();
      drain.onDrain(listener);
      expect(drain.isDraining).toBe(false);
      expect((await get(app.baseUrl, '/health/ready')).status).toBe(200);

      expect(drain.startDrain()).toBe(true);
      expect(drain.startDrain()).toBe(false);
      await drain.started;
      expect(listener).toHaveBeenCalledTimes(1);
      const ready = await get(app.baseUrl, '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.error.drain).toEqual({ status: 'down', message: 'draining' });
      expect((await get(app.baseUrl, '/health/live')).status).toBe(200);

      const late = jest.fn();
      drain.onDrain(late);
      expect(late).toHaveBeenCalledTimes(1);
    });
  });

  it('an app-wide error filter does not rewrite the 503', async () => {
    const down = { ping: async () => Promise.reject(new Error('down')) };
    const root = { imports: [HealthModule.register({ checks: [pingCheck('ticket_store', down)] })], providers: [{ provide: APP_FILTER, useClass: RewriteEverythingFilter }] };
    await withHttpApp(createHttpApp(platform, root), async (app) => {
      const ready = await get(app.baseUrl, '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.error.ticket_store.status).toBe('down');
    });
  });

  it('serves another base path, and shares a given drain state', async () => {
    const drainState = new DrainState();
    await withHttpApp(createHttpApp(platform, HealthModule.register({ path: '/internal/health/', drainState })), async (app) => {
      expect(app.app.get(DrainState)).toBe(drainState);
      expect((await get(app.baseUrl, '/internal/health/ready')).status).toBe(200);
      drainState.startDrain();
      expect((await get(app.baseUrl, '/internal/health/ready')).status).toBe(503);
      expect((await fetch(app.baseUrl + '/health/ready')).status).toBe(404);
    });
  });
});

describe('DrainState', () => {
  it('keeps notifying the other subscribers when one throws, and unsubscribes', () => {
    const drain = new DrainState();
    const calls: string[] = [];
    drain.onDrain(() => {
      calls.push('a');
      throw new Error('boom');
    });
    const off = drain.onDrain(() => calls.push('b'));
    drain.onDrain(() => calls.push('c'));
    off();
    drain.startDrain();
    expect(calls).toEqual(['a', 'c']);
  });
});
