// The standalone logger (createPinoLoggerModule) against real requests on Express and Fastify: an
// Authorization header, an `opper-ticket.<secret>` subprotocol, a `?ticket=` URL, bound
// instructions and audio never reach the output; the request id comes from `x-request-id` (else a
// new UUID), is echoed back, and follows the app's own log lines for that request.
import { describe, expect, it } from '@jest/globals';
import { Controller, Get, Logger as NestLogger, Module, Req, type INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Logger } from 'nestjs-pino';
import pino from 'pino';
import { createPinoLoggerModule, fastifyRequestIdOptions, pinoHttpOptions, RealtimeLog, redactSecrets, redactUrl, REDACTED } from '../../src/logging/index.js';
import { PLATFORMS, type Platform } from '../helpers/http-app.js';

const SECRETS = {
  apiKey: 'rtk-SECRETKEY-aaaaaaaaaaaaaaaa',
  protocolTicket: 'SECRETPROTOCOLTICKET_bbbbbbbbbbbbbbbb',
  queryTicket: 'SECRETQUERYTICKET_cccccccccccccccc',
  instructions: 'SECRET INSTRUCTIONS: you are a pirate',
  audio: 'U0VDUkVUQVVESU8=',
};

@Controller()
class ProbeController {
  private readonly logger = new NestLogger('Probe');

  @Get('v3/realtime')
  upgrade(@Req() req: { url: string; originalUrl?: string }) {
    this.logger.log(`redeeming ${req.originalUrl ?? req.url} with Bearer ${SECRETS.apiKey} and opper-ticket.${SECRETS.protocolTicket}`);
    this.logger.log({ msg: 'session.start', config: { model: 'openai/gpt-realtime-2', instructions: SECRETS.instructions }, event: { type: 'audio.append', audio: SECRETS.audio } });
    return { ok: true };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

// nestjs-pino keeps one pino-http instance per process (the first app's options win): every app
// of this file logs to this one capture, emptied by each test.
const lines: string[] = [];
const destination = { write: (line: string) => void lines.push(line) };

async function startLoggedApp(platform: Platform): Promise<{ app: INestApplication; baseUrl: string }> {
  lines.length = 0;
  const moduleRef = await Test.createTestingModule({ imports: [createPinoLoggerModule({ destination, level: 'info' }), ProbeModule] }).compile();
  const app = moduleRef.createNestApplication(platform === 'fastify' ? new FastifyAdapter(fastifyRequestIdOptions()) : new ExpressAdapter(), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, baseUrl: `http://127.0.0.1:${port}` };
}

describe.each(PLATFORMS)('pino logging on %s', (platform) => {
  it('logs the request without any secret, with the caller’s request id on every line', async () => {
    const { app, baseUrl } = await startLoggedApp(platform);
    try {
      const res = await fetch(`${baseUrl}/v3/realtime?x=1&ticket=${SECRETS.queryTicket}`, {
        headers: {
          authorization: `Bearer ${SECRETS.apiKey}`,
          'sec-websocket-protocol': `opper-realtime.v1, opper-ticket.${SECRETS.protocolTicket}`,
          'x-request-id': 'req-abc-123',
        },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBe('req-abc-123');
      await new Promise((resolve) => setTimeout(resolve, 50)); // the response line is written on finish
    } finally {
      await app.close();
    }
    const output = lines.join('');
    for (const secret of Object.values(SECRETS)) expect(output).not.toContain(secret);
    expect(output).toContain(REDACTED);

    const records = lines.map((line) => JSON.parse(line));
    const completed = records.find((r) => r.msg === 'request completed');
    expect(completed).toBeDefined();
    expect(completed.req.id).toBe('req-abc-123');
    expect(completed.req.url).toBe(`/v3/realtime?x=1&ticket=${REDACTED}`);
    expect(completed.req.headers.authorization).toBe(REDACTED);
    expect(completed.req.headers['sec-websocket-protocol']).toBe(REDACTED);
    const redeeming = records.find((r) => typeof r.msg === 'string' && r.msg.startsWith('redeeming'));
    expect(redeeming.req.id).toBe('req-abc-123');
    expect(redeeming.msg).toContain(`ticket=${REDACTED}`);
    const start = records.find((r) => r.msg === 'session.start');
    expect(start.config).toEqual({ model: 'openai/gpt-realtime-2', instructions: REDACTED });
    expect(start.event).toEqual({ type: 'audio.append', audio: REDACTED });
  });

  it('generates a request id when none (or a hostile one) is sent', async () => {
    const { app, baseUrl } = await startLoggedApp(platform);
    try {
      const plain = await fetch(`${baseUrl}/v3/realtime`);
      const hostile = await fetch(`${baseUrl}/v3/realtime`, { headers: { 'x-request-id': 'a b "}{' + 'x'.repeat(200) } });
      expect(plain.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await app.close();
    }
  });
});

describe('RealtimeLog through the pino logger', () => {
  it('writes one JSON line per mint, redemption and session end, with flat fields', async () => {
    const { app } = await startLoggedApp('express');
    try {
      const log = new RealtimeLog();
      log.mint({ requestId: 'r1', projectId: 'proj_a', keyId: 'key_a', model: 'openai/gpt-realtime-2', status: 200, outcome: 'ok', ttlSeconds: 60, lockedFields: ['instructions'] });
      log.redemption({ requestId: 'r2', projectId: 'proj_a', keyId: 'key_a', outcome: 'replayed', credential: 'ticket' });
      log.sessionEnded({
        requestId: 'r2', sessionId: 'sess_1', projectId: 'proj_a', keyId: 'key_a', model: 'openai/gpt-realtime-2', provider: 'openai',
        durationMs: 1234, bytesIn: 10, bytesOut: 20, endReason: 'client_closed', closeCode: 1000, usage: { input_tokens: 3 },
      });
    } finally {
      await app.close();
    }
    const records = lines.map((line) => JSON.parse(line));
    const mint = records.find((r) => r.event === 'ticket.mint');
    expect(mint).toMatchObject({ level: 30, context: 'Realtime', request_id: 'r1', project: 'proj_a', key_id: 'key_a', status: 200, outcome: 'ok', ttl_seconds: 60, locked_fields: ['instructions'] });
    expect(records.find((r) => r.event === 'ticket.redemption')).toMatchObject({ outcome: 'replayed', credential: 'ticket', request_id: 'r2' });
    expect(records.find((r) => r.event === 'session.end')).toMatchObject({
      session_id: 'sess_1', project: 'proj_a', key_id: 'key_a', model: 'openai/gpt-realtime-2', provider: 'openai',
      duration_ms: 1234, bytes_in: 10, bytes_out: 20, end_reason: 'client_closed', close_code: 1000, usage: { input_tokens: 3 }, request_id: 'r2',
    });
  });
});

describe('redaction helpers', () => {
  it('redacts ticket parameters anywhere in a URL, and nothing else', () => {
    expect(redactUrl('/v3/realtime?ticket=abc_DEF-1')).toBe(`/v3/realtime?ticket=${REDACTED}`);
    expect(redactUrl('wss://h/v3/realtime?a=1&TICKET=abc&b=2#f')).toBe(`wss://h/v3/realtime?a=1&TICKET=${REDACTED}&b=2#f`);
    expect(redactUrl('/v3/realtime-sessions')).toBe('/v3/realtime-sessions');
    expect(redactUrl('/v3/realtime?tickets_enabled=1')).toBe('/v3/realtime?tickets_enabled=1');
  });

  it('redacts bearer tokens, ticket subprotocols and key-looking strings in free text', () => {
    expect(redactSecrets('Authorization: Bearer rtk-abc.def')).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redactSecrets('offered opper-realtime.v1, opper-ticket.s3cr3t_-x')).toBe(`offered opper-realtime.v1, opper-ticket.${REDACTED}`);
    expect(redactSecrets('key opmak-1234567890abcdef used')).toBe(`key ${REDACTED} used`);
    expect(redactSecrets('nothing to see here')).toBe('nothing to see here');
  });

  it('a bare pino logger with these options redacts nested instructions and audio', () => {
    const lines: string[] = [];
    const options = pinoHttpOptions();
    const logger = pino({ redact: options.redact, hooks: options.hooks }, { write: (l: string) => void lines.push(l) });
    logger.info({ session: { config: { instructions: SECRETS.instructions } }, audio: SECRETS.audio, headers: { authorization: 'Bearer x' } }, `url /v3/realtime?ticket=${SECRETS.queryTicket}`);
    const output = lines.join('');
    for (const secret of [SECRETS.instructions, SECRETS.audio, SECRETS.queryTicket, 'Bearer x']) expect(output).not.toContain(secret);
  });
});
