// Every log line of a full run, captured through a Nest logger given to the app (as a host's
// nestjs-pino would receive them), over real HTTP and WebSocket on Express and Fastify:
// mint → redemption → a session with real speech through the OpenAI fake (a model that honours the
// bound instructions) → end → replay of the same ticket →
// an upgrade refused for a bad key. No line carries the API key, the client secret, the
// `opper-ticket.` value, the bound instructions or audio; the mint, redemption and session-end
// lines are there with their fields, and the upgrade's request id follows the connection to its end.
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import { OpenAiProvider } from '../../src/providers/openai/index.js';
import { startOpenAiFake, type OpenAiFake } from '../fakes/openai-fake.js';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { RUNTIME_KEY, startRealtimeApp } from '../helpers/realtime-app.js';
import { closeAll, connect, type RealtimeTestClient } from '../helpers/ws-client.js';

interface Captured {
  level: string;
  message: unknown;
  params: unknown[];
}

/** A LoggerService that keeps every call. */
class CapturingLogger implements LoggerService {
  readonly lines: Captured[] = [];
  private keep(level: string, message: unknown, params: unknown[]) {
    this.lines.push({ level, message, params });
  }
  log(message: unknown, ...params: unknown[]) {
    this.keep('log', message, params);
  }
  error(message: unknown, ...params: unknown[]) {
    this.keep('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]) {
    this.keep('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]) {
    this.keep('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]) {
    this.keep('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]) {
    this.keep('fatal', message, params);
  }

  /** Records of one event kind (`ticket.mint`, `ticket.redemption`, `session.end`). */
  records(event: string): Record<string, unknown>[] {
    return this.lines.map((l) => l.message as Record<string, unknown>).filter((m) => typeof m === 'object' && m !== null && m.event === event);
  }
}

/** 24 kHz PCM16 speech (the fixture's bytes after its 44-byte header, trimmed to whole samples). */
const SPEECH = readFileSync(new URL('../fixtures/audio/hello_world.24k.wav', import.meta.url).pathname).subarray(44, 44 + 48_000);
const INSTRUCTIONS = 'Bound instructions: the secret word is PLUMTREE-7731, never say it.';

const MODEL = 'openai/gpt-realtime-2';

describe.each(PLATFORMS)('log lines of a full run (%s)', (platform) => {
  let app: HttpApp | undefined;
  let fake: OpenAiFake;
  const clients: RealtimeTestClient[] = [];

  beforeAll(async () => {
    fake = await startOpenAiFake({ transcribe: () => 'Hello world' });
  });
  afterAll(async () => {
    await fake.close();
  });

  afterEach(async () => {
    await closeAll(clients.splice(0));
    await app?.close();
  });

  it('holds no secret, and one mint, redemption and session-end line with their fields', async () => {
    app = await startRealtimeApp(platform, { providers: [new OpenAiProvider({ apiKey: 'sk-test', baseUrl: fake.httpUrl })] });
    const logger = new CapturingLogger();
    app.app.useLogger(logger);

    // Mint, binding and locking the instructions.
    const minted = await fetch(`${app.baseUrl}/v3/realtime-sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${RUNTIME_KEY.key}`, 'content-type': 'application/json', 'x-request-id': 'req-mint-1' },
      body: JSON.stringify({ config: { model: MODEL, instructions: INSTRUCTIONS }, locked_fields: ['instructions'], ttl_seconds: 45 }),
    });
    expect(minted.status).toBe(200);
    const secret = ((await minted.json()) as { client_secret: string }).client_secret;

    // Redeem, run a session with speech, try to change the locked field, end it.
    const client = connect(app.baseUrl, { ticket: secret, headers: { 'x-request-id': 'req-upgrade-1' } });
    clients.push(client);
    await client.opened();
    const started = await client.start({ turn_detection: { type: 'server_vad', silence_duration_ms: 300 } });
    // The speech, then half a second of silence so the fake's server VAD ends the turn.
    const audio = Buffer.concat([SPEECH, Buffer.alloc(24_000)]);
    for (let offset = 0; offset < audio.length; offset += 4800) {
      client.send({ type: 'audio.append', audio: audio.subarray(offset, offset + 4800).toString('base64') });
    }
    await client.next('audio.delta');
    await client.next('response.completed');
    // The instructions did reach the provider (they are honoured), and only there.
    expect(fake.connections.at(-1)!.ofType('session.update')[0].session).toMatchObject({ instructions: INSTRUCTIONS });
    client.send({ type: 'session.update', config: { instructions: 'Ignore that. ' + INSTRUCTIONS } });
    await client.nextError('field_locked');
    await client.close();

    // Replay the same ticket (as a query parameter this time), then a bearer upgrade with a bad key.
    const replay = connect(app.baseUrl, { ticket: secret, via: 'query', headers: { 'x-request-id': 'req-replay-1' } });
    clients.push(replay);
    expect((await replay.rejected()).status).toBe(401);
    const badKey = connect(app.baseUrl, { bearer: 'rtk-not-a-real-key' });
    clients.push(badKey);
    expect((await badKey.rejected()).status).toBe(401);
    // A mint with the bad key is a line too.
    expect((await fetch(`${app.baseUrl}/v3/realtime-sessions`, { method: 'POST', headers: { authorization: 'Bearer rtk-not-a-real-key' } })).status).toBe(401);

    // The session-end line is written when the socket has closed on the server.
    const deadline = Date.now() + 3000;
    while (logger.records('session.end').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

    const everything = JSON.stringify(logger.lines);
    if (process.env.SHOW_LOG) console.log(everything);
    for (const forbidden of [RUNTIME_KEY.key, secret, `opper-ticket.${secret}`, 'opper-ticket.', INSTRUCTIONS, 'PLUMTREE', 'rtk-not-a-real-key']) {
      expect(everything.includes(forbidden) ? `log contains ${forbidden}` : 'clean').toBe('clean');
    }
    // No audio either: not even the first 40 base64 characters of a chunk.
    expect(everything).not.toContain(SPEECH.subarray(4800, 9600).toString('base64').slice(0, 40));

    const mints = logger.records('ticket.mint');
    expect(mints).toHaveLength(2);
    expect(mints[0]).toMatchObject({ project: 'proj_a', key_id: 'key_a', model: MODEL, ttl_seconds: 45, status: 200, outcome: 'ok', locked_fields: ['instructions'] });
    expect(typeof mints[0].request_id).toBe('string');
    if (platform === 'express') expect(mints[0].request_id).toBe('req-mint-1');
    expect(mints[1]).toMatchObject({ status: 401, outcome: 'invalid_api_key' });
    expect(mints[1]).not.toHaveProperty('project');

    const redemptions = logger.records('ticket.redemption');
    expect(redemptions.map((r) => r.outcome)).toEqual(['ok', 'replayed', 'invalid_api_key']);
    expect(redemptions[0]).toMatchObject({ request_id: 'req-upgrade-1', project: 'proj_a', key_id: 'key_a', credential: 'ticket' });
    expect(redemptions[0].waited_seconds).toEqual(expect.any(Number));
    expect(redemptions[1]).toMatchObject({ request_id: 'req-replay-1', credential: 'ticket' });
    expect(redemptions[2]).toMatchObject({ credential: 'api_key' });
    expect(redemptions[2].request_id).toEqual(expect.any(String));

    const ends = logger.records('session.end');
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({
      request_id: 'req-upgrade-1',
      session_id: started.session_id,
      project: 'proj_a',
      key_id: 'key_a',
      model: MODEL,
      provider: 'openai',
      end_reason: 'client_closed',
      close_code: 1000,
    });
    expect(ends[0].duration_ms).toEqual(expect.any(Number));
    expect(ends[0].bytes_in as number).toBeGreaterThan(SPEECH.length);
    expect(ends[0].bytes_out as number).toBeGreaterThan(SPEECH.length);
  });
});
