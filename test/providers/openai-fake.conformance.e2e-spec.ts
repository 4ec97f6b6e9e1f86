// The OpenAI fake speaks the real protocol: the official client (@openai/agents-realtime's
// OpenAIRealtimeWebSocket) completes session.update → session.updated, a text turn with a function
// call and its continuation, and an audio turn with real speech — and the fake is as strict as
// the real server about what it refuses (docs/providers.md §1, §6).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OpenAIRealtimeWebSocket } from '@openai/agents-realtime';
import WebSocket from 'ws';
import { startOpenAiFake, type Json, type OpenAiFake } from '../fakes/openai-fake.js';
import { helloWorld, silence } from './openai-compatible.support.js';

type AnyEvent = { type: string; [key: string]: any };

function collect(transport: OpenAIRealtimeWebSocket): AnyEvent[] {
  const events: AnyEvent[] = [];
  transport.on('*', (event) => events.push(event as AnyEvent));
  return events;
}

async function until<T>(fn: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw `ws` client of the fake, recording every server event. */
async function rawClient(fake: OpenAiFake, options: { headers?: Record<string, string>; query?: string; protocols?: string[] } = {}) {
  const ws = new WebSocket(`${fake.wsUrl}?${options.query ?? 'model=gpt-realtime'}`, options.protocols ?? [], {
    headers: options.headers ?? { Authorization: 'Bearer sk-test' },
  });
  const events: Json[] = [];
  ws.on('message', (data) => events.push(JSON.parse(data.toString())));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const outcome = await new Promise<'open' | { status: number; body: string }>((resolve) => {
    ws.once('open', () => resolve('open'));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
        ws.terminate();
      });
    });
    ws.once('error', () => undefined);
  });
  const next = (type: string, from = 0) => until(() => events.slice(from).find((e) => e.type === type), `"${type}"`);
  return { ws, events, closed, outcome, next, send: (m: Json) => ws.send(JSON.stringify(m)) };
}

describe('OpenAI fake, driven by the official client (@openai/agents-realtime)', () => {
  let fake: OpenAiFake;
  beforeAll(async () => {
    fake = await startOpenAiFake({ transcribe: () => 'Hello world' });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('completes session.update → session.updated, a tool call, its continuation and an audio turn', async () => {
    const transport = new OpenAIRealtimeWebSocket({ url: `${fake.wsUrl}?model=gpt-realtime` });
    const events = collect(transport);
    const errors: unknown[] = [];
    transport.on('error', (e) => errors.push(e));
    const toolCalls: AnyEvent[] = [];
    transport.on('function_call', (call) => toolCalls.push(call as unknown as AnyEvent));
    try {
      await transport.connect({
        apiKey: 'sk-test',
        model: 'gpt-realtime',
        initialSessionConfig: {
          instructions: 'Answer briefly.',
          voice: 'marin',
          audio: { input: { turnDetection: { type: 'server_vad', silenceDurationMs: 300 }, transcription: { model: 'gpt-4o-transcribe' } } },
          tools: [
            { type: 'function', name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
          ],
        } as never,
      });
      await until(() => events.find((e) => e.type === 'session.updated'), 'session.updated');
      const conn = fake.last;
      expect(conn.upgrade.headers['openai-beta']).toBeUndefined();
      const update = conn.ofType('session.update')[0];
      expect(update.session.type).toBe('realtime');
      expect(conn.session.instructions).toBe('Answer briefly.');
      expect(conn.session.audio.output.voice).toBe('marin');
      expect(conn.session.tools).toHaveLength(1);

      // Text turn that asks for the tool → function call, then the SDK sends the output and response.create.
      transport.sendMessage({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What is the weather in Paris?' }] }, {});
      const call = await until(() => toolCalls[0], 'function_call');
      expect(call.name).toBe('get_weather');
      expect(JSON.parse(call.arguments)).toEqual({ city: 'Paris' });
      expect(call.callId).toMatch(/^call_/);
      await until(() => events.find((e) => e.type === 'response.done'), 'response.done');
      transport.sendFunctionCallOutput(call as never, JSON.stringify({ temperature_c: 18 }), true);
      await until(() => events.filter((e) => e.type === 'response.done').length >= 2 || undefined, 'the continuation');
      const continuation = events.filter((e) => e.type === 'response.done')[1];
      expect(continuation.response.status).toBe('completed');
      expect(continuation.response.usage.total_tokens).toBeGreaterThan(0);
      const transcript = continuation.response.output[0].content[0].transcript;
      expect(transcript).toContain('temperature_c');

      // Audio turn: real speech then silence; server VAD commits and answers with audio.
      const wav = helloWorld();
      const speech = Buffer.concat([wav.pcm, silence(600)]);
      for (let off = 0; off < speech.length; off += 4800) {
        const chunk = speech.subarray(off, off + 4800);
        transport.sendAudio(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength) as ArrayBuffer);
      }
      await until(() => events.filter((e) => e.type === 'response.done').length >= 3 || undefined, 'the audio response');
      const types = events.map((e) => e.type);
      expect(types).toContain('input_audio_buffer.speech_started');
      expect(types).toContain('input_audio_buffer.speech_stopped');
      expect(types).toContain('input_audio_buffer.committed');
      expect(types).toContain('response.output_audio.delta');
      const transcription = events.find((e) => e.type === 'conversation.item.input_audio_transcription.completed');
      expect(transcription?.transcript).toBe('Hello world');
      expect(errors).toEqual([]);
    } finally {
      transport.close();
    }
  });
});

describe('OpenAI fake strictness (like the real GA server)', () => {
  let fake: OpenAiFake;
  beforeAll(async () => {
    fake = await startOpenAiFake();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('refuses a wrong key with HTTP 401 and the OpenAI error body, before any 101', async () => {
    const client = await rawClient(fake, { headers: { Authorization: 'Bearer sk-wrong' } });
    expect(client.outcome).toMatchObject({ status: 401 });
    expect(JSON.parse((client.outcome as { body: string }).body).error.code).toBe('invalid_api_key');
  });

  it('accepts the browser subprotocols and selects "realtime"', async () => {
    const client = await rawClient(fake, { headers: {}, protocols: ['realtime', 'openai-insecure-api-key.sk-test'] });
    expect(client.outcome).toBe('open');
    expect(client.ws.protocol).toBe('realtime');
    await client.next('session.created');
    client.ws.close();
  });

  it('closes a client that sends OpenAI-Beta with 4000 beta_api_shape_disabled', async () => {
    const client = await rawClient(fake, { headers: { Authorization: 'Bearer sk-test', 'OpenAI-Beta': 'realtime=v1' } });
    expect(await client.closed).toEqual({ code: 4000, reason: 'beta_api_shape_disabled' });
  });

  it('sends session.created first and validates session.update like the live service', async () => {
    const c = await rawClient(fake);
    expect((await c.next('session.created')).session).toMatchObject({ type: 'realtime', object: 'realtime.session', id: expect.stringMatching(/^sess_/) });
    expect(c.events[0].event_id).toMatch(/^event_/);

    c.send({ type: 'session.update', session: { instructions: 'x' } });
    expect((await c.next('error')).error).toMatchObject({ type: 'invalid_request_error', code: 'missing_required_parameter', param: 'session.type' });

    let from = c.events.length;
    c.send({ type: 'session.update', session: { type: 'realtime', modalities: ['audio'] } });
    expect((await c.next('error', from)).error).toMatchObject({ code: 'unknown_parameter', message: "Unknown parameter: 'session.modalities'." });

    from = c.events.length;
    c.send({ type: 'session.update', session: { type: 'realtime', temperature: 0.7 } });
    expect((await c.next('error', from)).error).toMatchObject({ code: 'unknown_parameter', param: 'session.temperature' });

    from = c.events.length;
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: { type: 'semantic_vad', threshold: 0.5 } } } } });
    expect((await c.next('error', from)).error).toMatchObject({ code: 'unknown_parameter', param: 'session.audio.input.turn_detection.threshold' });

    from = c.events.length;
    c.send({ type: 'session.update', session: { type: 'realtime', instructions: 'Be brief.', audio: { output: { voice: 'cedar' } } } });
    const updated = await c.next('session.updated', from);
    expect(updated.session.instructions).toBe('Be brief.');
    expect(updated.session.audio.output).toMatchObject({ voice: 'cedar', format: { type: 'audio/pcm', rate: 24000 } });
    expect(updated.session.audio.input.turn_detection.type).toBe('server_vad'); // merged, not replaced

    from = c.events.length;
    c.send({ type: 'input_audio_buffer.flush' });
    expect((await c.next('error', from)).error).toMatchObject({ code: 'invalid_value', param: 'type' });
    c.ws.close();
  });

  it('refuses a commit under 100 ms, a second active response, and a cancel with nothing active', async () => {
    const c = await rawClient(fake);
    await c.next('session.created');
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null } } } });
    await c.next('session.updated');

    c.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(4000).toString('base64') });
    c.send({ type: 'input_audio_buffer.commit' });
    const empty = await c.next('error');
    expect(empty.error.code).toBe('input_audio_buffer_commit_empty');
    expect(empty.error.message).toContain('Expected at least 100ms of audio, but buffer only has 83.33ms of audio');

    let from = c.events.length;
    c.send({ type: 'response.cancel' });
    expect((await c.next('error', from)).error).toMatchObject({ code: 'response_cancel_not_active', message: 'Cancellation failed: no active response found' });

    fake.last.stallResponsesAfter(1);
    from = c.events.length;
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }] } });
    c.send({ type: 'response.create' });
    const created = await c.next('response.created', from);
    expect(created.response.id).toMatch(/^resp_/);
    c.send({ type: 'response.create' });
    const busy = await c.next('error', from);
    expect(busy.error.code).toBe('conversation_already_has_active_response');
    expect(busy.error.message).toContain(created.response.id);

    c.send({ type: 'response.cancel' });
    const done = await c.next('response.done', from);
    expect(done.response).toMatchObject({ id: created.response.id, status: 'cancelled', status_details: { type: 'cancelled', reason: 'client_cancelled' } });
    c.ws.close();
  });

  it('emits a realistic GA response order with transcript obfuscation and usage in response.done', async () => {
    const c = await rawClient(fake);
    await c.next('session.created');
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null } } } });
    await c.next('session.updated');
    const from = c.events.length;
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi there' }] } });
    c.send({ type: 'response.create' });
    const done = await c.next('response.done', from);
    const types = c.events.slice(from).map((e) => e.type).filter((t) => !t.endsWith('.delta'));
    expect(types).toEqual([
      'conversation.item.added',
      'conversation.item.done',
      'response.created',
      'rate_limits.updated',
      'response.output_item.added',
      'conversation.item.added',
      'response.content_part.added',
      'response.output_audio.done',
      'response.output_audio_transcript.done',
      'response.content_part.done',
      'response.output_item.done',
      'conversation.item.done',
      'response.done',
    ]);
    const transcriptDelta = c.events.find((e) => e.type === 'response.output_audio_transcript.delta');
    expect(transcriptDelta?.obfuscation).toEqual(expect.any(String));
    expect(done.response.usage).toMatchObject({ total_tokens: expect.any(Number), input_token_details: expect.any(Object), output_token_details: expect.any(Object) });
    expect(done.response.output[0].id).toMatch(/^item_/);
    c.ws.close();
  });
});
