// The standalone server's demo: the page at `/` (static files from the top-level `demo/` folder) and
// two small routes standing in for a customer's backend. `POST /demo/ticket` mints a single-use
// ticket with the server's own API key, so the page never holds a key; `GET /demo/models` lists
// the catalogue's realtime models whose provider is configured on this server.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Inject,
  Logger,
  Param,
  Post,
  StreamableFile,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ApiKeyAuthenticator } from '../../auth/api-key.authenticator.js';
import type { StaticApiKey } from '../../auth/static-api-key.verifier.js';
import { ErrorCode } from '../../errors/error-codes.js';
import { RealtimeApiError } from '../../errors/realtime-api.error.js';
import { rfc3339Seconds } from '../../issuance/realtime-sessions.controller.js';
import { ProviderRegistry } from '../../providers/provider-registry.js';
import { REALTIME_SOCKET_PATH } from '../../realtime-sessions.options.js';
import { ModelCatalogue, type ModelDefinition } from '../../session-config/model-catalogue.js';
import { TicketService } from '../../tickets/ticket.service.js';

export const DEMO_OPTIONS = Symbol('DEMO_OPTIONS');

export interface DemoOptions {
  /** The key the demo backend mints with (the server's own); never sent to the page. */
  apiKey: StaticApiKey | undefined;
  /** Where the static files live. Default: the repository's `demo/` folder. */
  assetsDir?: string;
}

/** The model the page preselects when it is available. */
export const DEMO_DEFAULT_MODEL = 'loopback/echo';
/** Demo tickets are redeemed right away: a short life is plenty. */
const DEMO_TICKET_TTL_SECONDS = 60;
/** What the demo backend binds besides the model: the browser cannot change it. */
const DEMO_INSTRUCTIONS =
  'You are the voice assistant of a live demo of a realtime voice gateway. Be friendly and keep every answer to one or two short sentences.';

// `src/standalone/demo/` and `dist/standalone/demo/` both sit three levels below the repository.
const DEFAULT_ASSETS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'demo');

/** The only files served, with their types: nothing else under the folder is reachable. */
const ASSETS: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'demo.css': 'text/css; charset=utf-8',
  'demo.js': 'text/javascript; charset=utf-8',
  'capture-worklet.js': 'text/javascript; charset=utf-8',
  'output-tap-worklet.js': 'text/javascript; charset=utf-8',
};

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface DemoModel {
  id: string;
  input_sample_rate: number | null;
  output_sample_rate: number | null;
  voices: string[];
  default_voice: string | null;
  /** `turn_detection.type` values the model accepts. */
  turn_detection_types: string[];
  /** A translation model: the page asks for `translation_target_language`. */
  translation: boolean;
}

export interface DemoTicket {
  client_secret: string;
  expires_at: string;
  /** Path of the WebSocket endpoint on this server. */
  ws_path: string;
  /** What the ticket binds (the page shows it; the gateway enforces it). */
  bound: { model: string; instructions?: string };
}

@Controller()
export class DemoController implements OnModuleInit {
  private readonly logger = new Logger('Demo');
  private readonly assetsDir: string;
  private tickets!: TicketService;
  private authenticator!: ApiKeyAuthenticator;
  private catalogue!: ModelCatalogue;
  private providers!: ProviderRegistry;

  constructor(
    private readonly moduleRef: ModuleRef,
    @Inject(DEMO_OPTIONS) private readonly options: DemoOptions,
  ) {
    this.assetsDir = options.assetsDir ?? DEFAULT_ASSETS_DIR;
  }

  onModuleInit(): void {
    // Exported by RealtimeSessionsModule, which the standalone app imports beside this module.
    this.tickets = this.moduleRef.get(TicketService, { strict: false });
    this.authenticator = this.moduleRef.get(ApiKeyAuthenticator, { strict: false });
    this.catalogue = this.moduleRef.get(ModelCatalogue, { strict: false });
    this.providers = this.moduleRef.get(ProviderRegistry, { strict: false });
  }

  @Get('/')
  @Header('Content-Security-Policy', CSP)
  @Header('Cache-Control', 'no-store')
  @Header('X-Content-Type-Options', 'nosniff')
  index(): Promise<StreamableFile> {
    return this.asset('index.html');
  }

  @Get('/demo/assets/:name')
  @Header('Cache-Control', 'no-store')
  @Header('X-Content-Type-Options', 'nosniff')
  assetFile(@Param('name') name: string): Promise<StreamableFile> {
    return this.asset(name);
  }

  @Get('/demo/models')
  @Header('Cache-Control', 'no-store')
  models(): { default: string | null; models: DemoModel[] } {
    const models = this.availableModels().map(toDemoModel);
    const preferred = models.find((m) => m.id === DEMO_DEFAULT_MODEL) ?? models[0];
    return { default: preferred?.id ?? null, models };
  }

  /** The customer's backend, in miniature: decides what the session may do and mints the ticket. */
  @Post('/demo/ticket')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  async ticket(@Body() body: unknown): Promise<DemoTicket> {
    const requested = isObject(body) && typeof body.model === 'string' && body.model !== '' ? body.model : undefined;
    const available = this.availableModels();
    const model = requested ?? (available.find((m) => m.id === DEMO_DEFAULT_MODEL) ?? available[0])?.id;
    if (!model || !available.some((m) => m.id === model)) {
      throw new RealtimeApiError(
        HttpStatus.BAD_REQUEST,
        ErrorCode.InvalidField,
        model ? `The demo cannot mint a ticket for "${model}": its provider is not configured on this server` : 'No realtime model is available on this server',
        { field: 'model', available: available.map((m) => m.id) },
      );
    }
    const apiKey = this.options.apiKey;
    if (!apiKey) {
      throw new RealtimeApiError(HttpStatus.SERVICE_UNAVAILABLE, ErrorCode.TicketsDisabled, 'The demo has no API key to mint tickets with');
    }
    const identity = await this.authenticator.authenticateKey(apiKey.key);
    // Instructions only where the model honours them: a bound field it cannot honour is refused
    // at mint (unsupported_by_provider), and the loopback echo has no use for them.
    const honoursInstructions = available.find((m) => m.id === model)?.honouredFields?.includes('instructions') ?? true;
    const bound = honoursInstructions ? { model, instructions: DEMO_INSTRUCTIONS } : { model };
    const { secret, record } = await this.tickets.mint(identity, {
      config: bound,
      lockedFields: [],
      ttlSeconds: DEMO_TICKET_TTL_SECONDS,
    });
    return { client_secret: secret, expires_at: rfc3339Seconds(record.expiresAt), ws_path: REALTIME_SOCKET_PATH, bound };
  }

  private availableModels(): ModelDefinition[] {
    return this.catalogue.list().filter((m) => m.realtime && this.providers.forModel(m.id) !== undefined);
  }

  private async asset(name: string): Promise<StreamableFile> {
    const type = Object.prototype.hasOwnProperty.call(ASSETS, name) ? ASSETS[name] : undefined;
    if (!type) throw new RealtimeApiError(HttpStatus.NOT_FOUND, ErrorCode.NotFound, `No demo asset "${name}"`);
    let content: Buffer;
    try {
      content = await readFile(join(this.assetsDir, name));
    } catch (err) {
      this.logger.error(`Demo asset ${name} cannot be read from ${this.assetsDir}: ${(err as Error)?.message}`);
      throw new RealtimeApiError(HttpStatus.NOT_FOUND, ErrorCode.NotFound, `Demo asset "${name}" is missing on this server`);
    }
    return new StreamableFile(content, { type, length: content.length });
  }
}

function toDemoModel(model: ModelDefinition): DemoModel {
  return {
    id: model.id,
    input_sample_rate: model.inputSampleRate ?? null,
    output_sample_rate: model.outputSampleRate ?? null,
    voices: model.voices ?? [],
    default_voice: model.defaultVoice ?? null,
    turn_detection_types: model.turnDetectionTypes ?? ['server_vad', 'semantic_vad', 'none'],
    translation: model.translation === true,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
