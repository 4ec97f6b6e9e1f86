// The OpenAPI document over real HTTP on Express and Fastify: the real module's app serves
// /docs-json with the mint request schema from the real DTOs; the mint route decorator describes
// the request, the 200 body and every error code with its status.
import { createRequire } from 'node:module';
import { describe, expect, it } from '@jest/globals';
import { Body, Controller, HttpCode, Post, type INestApplication, type ModuleMetadata } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { ErrorCode } from '../../src/errors/error-codes.js';
import { RealtimeSessionsModule } from '../../src/index.js';
import { ApiMintRealtimeSession, describeRealtimeApi, MINT_ERROR_CODES } from '../../src/openapi/index.js';
import { SESSION_CONFIG_FIELDS } from '../../src/session-config/session-config.js';
import { PLATFORMS, type Platform } from '../helpers/http-app.js';
import { RUNTIME_KEY, UNREACHABLE_PROVIDERS } from '../helpers/realtime-app.js';

const hasFastifyStatic = (() => {
  try {
    createRequire(import.meta.url).resolve('@fastify/static');
    return true;
  } catch {
    return false;
  }
})();

async function startDocumentedApp(platform: Platform, metadata: ModuleMetadata): Promise<{ app: INestApplication; baseUrl: string }> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app = moduleRef.createNestApplication(platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), { logger: false });
  describeRealtimeApi(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, baseUrl: `http://127.0.0.1:${port}` };
}

@Controller()
class DecoratedMintController {
  @Post('v3/realtime-sessions')
  @HttpCode(200)
  @ApiMintRealtimeSession()
  create(@Body() _body: unknown) {
    return {};
  }
}

describe.each(PLATFORMS)('OpenAPI on %s', (platform) => {
  it('the real module serves /docs-json with the request schema from the DTOs', async () => {
    const { app, baseUrl } = await startDocumentedApp(platform, { imports: [RealtimeSessionsModule.forRoot({ apiKeys: [RUNTIME_KEY], ...UNREACHABLE_PROVIDERS })] });
    try {
      const res = await fetch(`${baseUrl}/docs-json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const doc = (await res.json()) as any;
      expect(doc.openapi).toMatch(/^3\./);
      expect(doc.paths['/v3/realtime-sessions']).toBeDefined();
      const request = doc.components.schemas.CreateRealtimeSessionDto;
      expect(Object.keys(request.properties).sort()).toEqual(['allowed_origins', 'config', 'locked_fields', 'metadata', 'ttl_seconds']);
      expect(request.required ?? []).toEqual([]);
      expect(Object.keys(doc.components.schemas.SessionConfigDto.properties).sort()).toEqual([...SESSION_CONFIG_FIELDS].sort());
      expect(doc.components.schemas.SessionConfigDto.properties.modalities.items.enum).toEqual(['audio', 'text']);
      expect(Object.keys(doc.components.schemas.RealtimeSessionResponseDto.properties).sort()).toEqual(['client_secret', 'expires_at', 'id', 'ws_url']);
      expect(doc.components.securitySchemes['runtime-api-key']).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));

      const page = await fetch(`${baseUrl}/docs`);
      if (platform === 'express' || hasFastifyStatic) {
        expect(page.status).toBe(200);
        expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      } else {
        expect(page.status).toBe(404); // UI off without @fastify/static; the JSON above still served
      }
    } finally {
      await app.close();
    }
  });

  it('the real mint route is described: request, 200, every error code with its status; the 405 handlers are left out', async () => {
    const { app, baseUrl } = await startDocumentedApp(platform, { imports: [RealtimeSessionsModule.forRoot({ apiKeys: [RUNTIME_KEY], ...UNREACHABLE_PROVIDERS, health: true })] });
    try {
      const doc = (await (await fetch(`${baseUrl}/docs-json`)).json()) as any;
      const route = doc.paths['/v3/realtime-sessions'];
      expect(Object.keys(route)).toEqual(['post']);
      const post = route.post;
      expect(post.security).toEqual([{ 'runtime-api-key': [] }]);
      expect(post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CreateRealtimeSessionDto' });
      expect(Object.keys(doc.components.schemas.CreateRealtimeSessionDto.properties).sort()).toEqual(['allowed_origins', 'config', 'locked_fields', 'metadata', 'ttl_seconds']);
      expect(post.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/RealtimeSessionResponseDto' });
      for (const { status, code } of MINT_ERROR_CODES) {
        expect(post.responses[String(status)].content['application/json'].examples[code].value.error.code).toBe(code);
      }
      expect(post.responses['503'].content['application/json'].examples.server_draining).toBeDefined();
      expect(Object.keys(post.responses).sort()).toEqual(['200', '400', '401', '409', '413', '415', '429', '500', '501', '503']);
      // The backend-control routes (revoke, list, end) are described too.
      const revoke = doc.paths['/v3/realtime-sessions/{id}'].delete;
      expect(Object.keys(revoke.responses).sort()).toEqual(['204', '401', '404', '409', '501', '503']);
      expect(revoke.security).toEqual([{ 'runtime-api-key': [] }]);
      const list = doc.paths['/v3/realtime-sessions/live'].get;
      expect(list.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/LiveSessionListDto' });
      expect(Object.keys(doc.components.schemas.LiveSessionDto.properties).sort()).toEqual(['id', 'instance', 'metadata', 'model', 'provider', 'started_at', 'ticket_id']);
      const end = doc.paths['/v3/realtime-sessions/live/{sessionId}'].delete;
      expect(Object.keys(end.responses).sort()).toEqual(['202', '401', '404', '503']);
    } finally {
      await app.close();
    }
  });

  it('ApiMintRealtimeSession describes the body, the 200 and every error code with its status', async () => {
    const { app, baseUrl } = await startDocumentedApp(platform, { controllers: [DecoratedMintController] });
    try {
      const doc = (await (await fetch(`${baseUrl}/docs-json`)).json()) as any;
      const post = doc.paths['/v3/realtime-sessions'].post;
      expect(post.security).toEqual([{ 'runtime-api-key': [] }]);
      expect(post.requestBody.required).toBe(false);
      expect(post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CreateRealtimeSessionDto' });
      expect(post.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/RealtimeSessionResponseDto' });
      for (const { status, code } of MINT_ERROR_CODES) {
        const response = post.responses[String(status)];
        expect(response.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorBodyDto' });
        expect(response.content['application/json'].examples[code].value.error.code).toBe(code);
        expect(response.description).toContain(`\`${code}\``);
      }
      expect(Object.keys(post.responses).sort()).toEqual(['200', '400', '401', '409', '413', '415', '429', '500', '501', '503']);
      expect(doc.components.schemas.ErrorDetailDto.properties.code.enum).toEqual(expect.arrayContaining(Object.values(ErrorCode)));
    } finally {
      await app.close();
    }
  });
});

describe('the mint error table', () => {
  it('lists every code the mint path throws, each once, with the status the tests expect', () => {
    const codes = MINT_ERROR_CODES.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    const statusOf = Object.fromEntries(MINT_ERROR_CODES.map((e) => [e.code, e.status]));
    expect(statusOf).toEqual(
      expect.objectContaining({
        unknown_field: 400,
        invalid_ttl: 400,
        provider_not_configured: 400,
        missing_credentials: 401,
        management_key_not_allowed: 401,
        unsupported_media_type: 415,
        tickets_disabled: 503,
        ticket_store_unavailable: 503,
        auth_unavailable: 503,
        server_draining: 503,
      }),
    );
  });
});
