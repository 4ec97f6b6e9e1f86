// The xAI fake follows what docs/providers.md §2 documents and §6 lists, observed from a raw `ws` client
// (there is no official xAI realtime client for Node to drive it with): the handshake order, the
// flat session shape, client-secret auth, and the behaviours where xAI differs from OpenAI.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import type { Json } from '../fakes/openai-fake.js';
import { startXaiFake, type XaiFake } from '../fakes/xai-fake.js';
import { helloWorld, silence } from './openai-compatible.support.js';

async function until<T>(fn: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function connect(fake: XaiFake, options: { token?: string; protocols?: string[]; query?: string } = {}) {
  const headers: Record<string, string> = options.token ? { Authorization: `Bearer ${options.token}` } : {};
  const ws = new WebSocket(`${fake.wsUrl}?${options.query ?? 'model=grok-voice-latest'}`, options.protocols ?? [], { headers });
  const events: Json[] = [];
  ws.on('message', (data) => events.push(JSON.parse(data.toString())));
  const outcome = await new Promise<'open' | number>((resolve) => {
    ws.once('open', () => resolve('open'));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => undefined);
  });
  const next = (type: string, from = 0) => until(() => events.slice(from).find((e) => e.type === type), `"${type}"`);
  return { ws, events, outcome, next, send: (m: Json) => ws.send(JSON.stringify(m)) };
}

async function secret(fake: XaiFake): Promise<string> {
  const res = await fetch(`${fake.httpUrl}/realtime/client_secrets`, {
    method: 'POST',
    headers: { authorization: 'Bearer xai-test', 'content-type': 'application/json' },
    body: JSON.stringify({ expires_after: { seconds: 300 } }),
  });
  return ((await res.json()) as { value: string }).value;
}

describe('xAI fake protocol', () => {
  let fake: XaiFake;
  beforeAll(async () => {
    fake = await startXaiFake({ pingIntervalMs: 20, transcribe: () => 'Hello world' });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('authenticates with the server key, a client secret as bearer or as subprotocol, and refuses the rest with 401', async () => {
    expect((await connect(fake, { token: 'xai-wrong' })).outcome).toBe(401);
    expect((await connect(fake)).outcome).toBe(401);
    const key = await connect(fake, { token: 'xai-test' });
    expect(key.outcome).toBe('open');
    key.ws.close();
    const bearer = await connect(fake, { token: await secret(fake) });
    expect(bearer.outcome).toBe('open');
    bearer.ws.close();
    const token = await secret(fake);
    const browser = await connect(fake, { protocols: [`xai-client-secret.${token}`] });
    expect(browser.outcome).toBe('open');
    expect(browser.ws.protocol).toBe(`xai-client-secret.${token}`);
    browser.ws.close();
    fake.expireSecrets();
    expect((await connect(fake, { token })).outcome).toBe(401);
  });

  it('greets with session.created, conversation.created, then pings; turn detection is off until set', async () => {
    const c = await connect(fake, { token: 'xai-test' });
    await until(() => (c.events.length >= 3 ? true : undefined), 'three events');
    expect(c.events.slice(0, 3).map((e) => e.type)).toEqual(['session.created', 'conversation.created', 'ping']);
    expect(c.events[0].session).toMatchObject({ object: 'realtime.session', voice: 'xai_ara', turn_detection: { type: null }, modalities: ['audio'], id: expect.stringMatching(/^sess_/) });
    expect(c.events[2]).toMatchObject({ timestamp: expect.any(Number), event_id: expect.stringMatching(/^evt_/) });
    c.ws.close();
  });

  it('takes the flat session shape and refuses the GA placements', async () => {
    const c = await connect(fake, { token: 'xai-test' });
    await c.next('session.created');
    for (const [session, param] of [
      [{ type: 'realtime' }, 'session.type'],
      [{ output_modalities: ['audio'] }, 'session.output_modalities'],
      [{ audio: { output: { voice: 'eve' } } }, 'session.audio.output.voice'],
      [{ audio: { input: { turn_detection: { type: 'server_vad' } } } }, 'session.audio.input.turn_detection'],
    ] as const) {
      const from = c.events.length;
      c.send({ type: 'session.update', session });
      expect((await c.next('error', from)).error).toMatchObject({ code: 'invalid_request_error', param });
    }
    const from = c.events.length;
    c.send({ type: 'session.update', session: { voice: 'Eve', turn_detection: { type: 'server_vad', create_response: false }, modalities: ['text'] } });
    expect((await c.next('session.updated', from)).session).toMatchObject({ voice: 'xai_eve', turn_detection: { type: 'server_vad', create_response: false }, modalities: ['text'] });
    c.ws.close();
  });

  it('answers server-VAD turns even with create_response:false, with added-only items, both text deltas and top-level usage', async () => {
    const c = await connect(fake, { token: 'xai-test' });
    c.send({ type: 'session.update', session: { modalities: ['text'], turn_detection: { type: 'server_vad', create_response: false }, audio: { input: { transcription: { model: 'grok-transcribe' } } } } });
    await c.next('session.updated');
    const from = c.events.length;
    const speech = Buffer.concat([helloWorld().pcm, silence(600)]);
    for (let off = 0; off < speech.length; off += 4800) c.send({ type: 'input_audio_buffer.append', audio: speech.subarray(off, off + 4800).toString('base64') });
    const done = await c.next('response.done', from);
    const types = c.events.slice(from).map((e) => e.type);
    expect(types).toContain('input_audio_buffer.speech_started');
    expect(types).toContain('conversation.item.input_audio_transcription.updated');
    expect(types).toContain('conversation.item.added');
    expect(types).not.toContain('conversation.item.done');
    expect(types.filter((t) => t === 'response.text.delta').length).toBe(types.filter((t) => t === 'response.output_text.delta').length);
    expect(done.usage).toMatchObject({ total_tokens: expect.any(Number), output_audio_seconds: expect.any(Number), billable_audio_seconds: expect.any(Number) });
    expect(done.response.usage).toBeUndefined();
    c.ws.close();
  });

  it('cancels the active response on a new response.create (no error), and speaks force_message verbatim', async () => {
    const c = await connect(fake, { token: 'xai-test' });
    c.send({ type: 'session.update', session: { voice: 'ara' } });
    await c.next('session.updated');
    fake.last.stallResponsesAfter(1);
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }] } });
    c.send({ type: 'response.create' });
    const first = await c.next('response.created');
    c.send({ type: 'response.create' });
    const cancelled = await c.next('response.done');
    expect(cancelled.response).toMatchObject({ id: first.response.id, status: 'cancelled' });
    expect(c.events.some((e) => e.type === 'error')).toBe(false);
    fake.last.release();
    await until(() => (c.events.filter((e) => e.type === 'response.done').length === 2 ? true : undefined), 'the second response');

    const from = c.events.length;
    c.send({ type: 'conversation.item.create', item: { type: 'force_message', role: 'assistant', content: [{ type: 'output_text', text: 'Please hold.' }] } });
    await c.next('response.done', from);
    const transcript = c.events.slice(from).find((e) => e.type === 'response.output_audio_transcript.done');
    expect(transcript?.transcript).toBe('Please hold.');
    c.ws.close();
  });
});
