// docs/protocol.md §1, errors everywhere: bodies that are not JSON objects, media types, methods, unknown
// routes (and not hijacking the host app's own errors), and the fail-closed 503s.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import { RealtimeSessionsModule } from '../../src/index.js';
import { HostAdminController, HostController } from '../host-app/host-app.module.js';
import { createHttpApp, PLATFORMS, withHttpApp, type HttpApp, type Platform } from '../helpers/http-app.js';
import { RecordingTicketRepository, UnreachableTicketRepository } from '../helpers/fakes.js';
import { expectError, expectMinted, request } from '../helpers/mint-client.js';
import { RUNTIME_KEY, startRealtimeApp, withRealtimeApp } from '../helpers/realtime-app.js';

const key = RUNTIME_KEY.key;

/** A host app: the realtime module next to the host's own controller. */
function startHostApp(platform: Platform, formatAllErrors: boolean | undefined): Promise<HttpApp> {
  @Module({ imports: [RealtimeSessionsModule.forRoot({ apiKeys: [RUNTIME_KEY], formatAllErrors })], controllers: [HostController, HostAdminController] })
  class HostModule {}
  return createHttpApp(platform, HostModule);
}

describe.each(PLATFORMS)('mint errors (%s)', (platform) => {
  describe('request bodies and media types', () => {
    let app: HttpApp;
    beforeAll(async () => {
      app = await startRealtimeApp(platform);
    });
    afterAll(() => app.close());

    it.each([
      ['truncated JSON', '{"ttl_seconds": 60'],
      ['not JSON at all', 'ttl_seconds=60'],
      ['trailing garbage', '{} x'],
    ])('%s with a JSON content type → 400 invalid_json', async (_label, body) => {
      expectError(await request(app.baseUrl, { apiKey: key, body, contentType: 'application/json' }), 400, 'invalid_json');
    });

    it.each([
      ['an array', '[]'],
      ['an array of objects', '[{"ttl_seconds":60}]'],
      ['a string', '"hello"'],
      ['a number', '42'],
      ['null', 'null'],
    ])('a JSON body that is %s → 400', async (_label, body) => {
      // Express's JSON parser refuses non-object top-level values itself (invalid_json).
      expectError(await request(app.baseUrl, { apiKey: key, body, contentType: 'application/json' }), 400, ['invalid_request', 'invalid_json']);
    });

    it.each([
      ['text/plain', '{}'],
      ['text/plain', 'hello'],
      ['application/x-www-form-urlencoded', 'ttl_seconds=60'],
    ])('Content-Type %s with a body → 415 unsupported_media_type', async (contentType, body) => {
      expectError(await request(app.baseUrl, { apiKey: key, body, contentType }), 415, 'unsupported_media_type');
    });
  });

  describe('methods and routes', () => {
    let app: HttpApp;
    beforeAll(async () => {
      app = await startRealtimeApp(platform);
    });
    afterAll(() => app.close());

    it.each(['GET', 'PUT', 'PATCH', 'DELETE'])('%s /v3/realtime-sessions → 405 with Allow: POST', async (method) => {
      const result = await request(app.baseUrl, { method, apiKey: key });
      expectError(result, 405, 'method_not_allowed');
      expect(result.headers.get('allow')).toBe('POST');
    });

    it('HEAD /v3/realtime-sessions → 405 with Allow: POST', async () => {
      const result = await request(app.baseUrl, { method: 'HEAD', apiKey: key });
      expect(result.status).toBe(405);
      expect(result.headers.get('allow')).toBe('POST');
    });

    it.each([
      ['GET', '/v3/realtime-sessions/abc'],
      ['POST', '/v3/realtime-sessions/abc'],
      ['GET', '/v3/realtime/unknown'],
    ])('%s %s (unknown route of the module) → 404 with the error body', async (method, path) => {
      const error = expectError(await request(app.baseUrl, { method, path, apiKey: key }), 404, 'not_found');
      expect(error.message).toContain(path);
    });
  });

  describe('formatAllErrors', () => {
    it('default (false): the host app keeps Nest\'s own error bodies', async () => {
      await withHttpApp(startHostApp(platform, undefined), async (app) => {
        const notFound = await request(app.baseUrl, { method: 'GET', path: '/no/such/host/route' });
        expect(notFound.status).toBe(404);
        expect(notFound.json).toEqual({ statusCode: 404, message: 'Cannot GET /no/such/host/route', error: 'Not Found' });
        const forbidden = await request(app.baseUrl, { method: 'GET', path: '/host/forbidden' });
        expect(forbidden.status).toBe(403);
        expect(forbidden.json).toEqual({ statusCode: 403, message: 'host says no', error: 'Forbidden' });
        // A host route that merely starts like the module's paths is the host's too.
        const admin = await request(app.baseUrl, { method: 'GET', path: '/v3/realtime-admin/forbidden' });
        expect(admin.json).toEqual({ statusCode: 403, message: 'admins only', error: 'Forbidden' });
        // ...while the module's own routes still use the module's format.
        expectError(await request(app.baseUrl, { apiKey: null }), 401, 'missing_credentials');
        expectError(await request(app.baseUrl, { method: 'GET', path: '/v3/realtime-sessions/x' }), 404, 'not_found');
      });
    });

    it('true: every error of the app has the error body, unknown routes included', async () => {
      await withHttpApp(startHostApp(platform, true), async (app) => {
        const error = expectError(await request(app.baseUrl, { method: 'GET', path: '/no/such/host/route' }), 404, 'not_found');
        expect(error.message).toContain('/no/such/host/route');
        const forbidden = expectError(await request(app.baseUrl, { method: 'GET', path: '/host/forbidden' }), 403);
        expect(forbidden.message).toBe('host says no');
        // A host route's 405 is the host's: the module's `Allow: POST` belongs to its own route only.
        const readOnly = await request(app.baseUrl, { method: 'GET', path: '/host/read-only' });
        expectError(readOnly, 405);
        expect(readOnly.headers.get('allow')).toBeNull();
        // A host route that works is untouched.
        const ok = await request(app.baseUrl, { method: 'GET', path: '/host/status' });
        expect({ status: ok.status, body: ok.json }).toEqual({ status: 200, body: { ok: true } });
      });
    });
  });

  describe('503: fail closed', () => {
    it('ticketsEnabled: false → 503 tickets_disabled, and nothing is stored', async () => {
      const repository = new RecordingTicketRepository();
      await withRealtimeApp(platform, { ticketsEnabled: false, ticketRepository: repository }, async (app) => {
        expectError(await request(app.baseUrl, { apiKey: key, json: {} }), 503, 'tickets_disabled');
        // Auth still comes first.
        expectError(await request(app.baseUrl, { apiKey: 'rtk-unknown', json: {} }), 401, 'invalid_api_key');
      });
      expect(repository.saved).toHaveLength(0);
    });

    it('ticketsEnabled: true (explicit) mints', async () => {
      await withRealtimeApp(platform, { ticketsEnabled: true }, async (app) => {
        expectMinted(await request(app.baseUrl, { apiKey: key }));
      });
    });

    it('a ticket store whose save throws → 503 ticket_store_unavailable, no secret handed out', async () => {
      const repository = new UnreachableTicketRepository();
      await withRealtimeApp(platform, { ticketRepository: repository }, async (app) => {
        const result = await request(app.baseUrl, { apiKey: key, json: { ttl_seconds: 30 } });
        const error = expectError(result, 503, 'ticket_store_unavailable');
        expect(JSON.stringify(error)).not.toContain('ECONNREFUSED');
        expect(result.text).not.toContain('client_secret');
      });
      expect(repository.saveCalls).toBe(1);
    });
  });
});
