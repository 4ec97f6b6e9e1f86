// Builds the OpenAPI document of the app (SwaggerModule.createDocument) and serves it: the UI at
// /docs and the JSON at /docs-json. Call it after creating the app and before `listen`.
import { createRequire } from 'node:module';
import { Logger, type INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { CreateRealtimeSessionDto, SessionConfigDto, ToolDto, TurnDetectionDto } from '../session-config/session-config.dto.js';
import { ErrorBodyDto, ErrorDetailDto } from './error-body.dto.js';
import { RUNTIME_KEY_SECURITY } from './mint-route.decorators.js';
import { RealtimeSessionResponseDto } from './realtime-session.response.js';

export interface RealtimeApiDocsOptions {
  /** Where the UI is served; the JSON is at `<path>-json`. Default `docs`. */
  path?: string;
  title?: string;
  version?: string;
  /**
   * Serve the Swagger UI page (default true). On Fastify the UI's assets need the optional
   * package `@fastify/static`; without it only the JSON is served (and a warning is logged).
   */
  ui?: boolean;
}

export const DOCUMENTED_MODELS = [CreateRealtimeSessionDto, SessionConfigDto, TurnDetectionDto, ToolDto, RealtimeSessionResponseDto, ErrorBodyDto, ErrorDetailDto];

export function buildRealtimeApiDocument(app: INestApplication, options: RealtimeApiDocsOptions = {}): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle(options.title ?? 'Realtime sessions gateway')
    .setDescription(
      'Mint single-use tickets (POST /v3/realtime-sessions) and redeem them at the WebSocket upgrade (GET /v3/realtime). ' +
        'The WebSocket protocol itself is described in AsyncAPI (docs/asyncapi.yaml).',
    )
    .setVersion(options.version ?? '0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'A project-scoped runtime API key.' }, RUNTIME_KEY_SECURITY)
    .build();
  // The DTOs are listed so the schemas are there even before every route carries its decorators.
  return SwaggerModule.createDocument(app, config, { extraModels: DOCUMENTED_MODELS });
}

export function describeRealtimeApi(app: INestApplication, options: RealtimeApiDocsOptions = {}): OpenAPIObject {
  const path = (options.path ?? 'docs').replace(/^\/+|\/+$/g, '');
  const document = buildRealtimeApiDocument(app, options);
  let ui = options.ui ?? true;
  if (ui && app.getHttpAdapter().getType() === 'fastify' && !canResolve('@fastify/static')) {
    new Logger('RealtimeApiDocs').warn(`/${path} serves only /${path}-json on Fastify without @fastify/static (npm install @fastify/static for the UI)`);
    ui = false;
  }
  SwaggerModule.setup(path, app, document, { ui, raw: ['json'], jsonDocumentUrl: `${path}-json` });
  return document;
}

function canResolve(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}
