// A provider is a plugin: the toy provider (test/fakes/toy/, written like a `providers/<name>/`
// folder) passed in the `providers` option joins the model catalogue, is checked at mint and at
// session.start with its own capabilities, gets its credentials by name, and relays over a real
// WebSocket through the upstream core — with no edit anywhere else. Also: the library serves
// loopback only when asked.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ModelCatalogue, ProviderRegistry } from '../../src/index.js';
import { toyProvider } from '../fakes/toy/toy.provider.js';
import { ToyUpstream } from '../fakes/toy/toy-upstream.js';
import { createHttpApp, PLATFORMS, withHttpApp, type HttpApp } from '../helpers/http-app.js';
import { expectError, expectMinted, request } from '../helpers/mint-client.js';
import { RUNTIME_KEY, startRealtimeApp, withRealtimeApp } from '../helpers/realtime-app.js';
import { closeAll, openWithTicket, type RealtimeTestClient } from '../helpers/ws-client.js';
import { RealtimeSessionsModule } from '../../src/index.js';

const PARROT = { model: 'toy/parrot' };

describe.each(PLATFORMS)('a provider passed in `providers` (%s)', (platform) => {
  let upstream: ToyUpstream;
  let app: HttpApp;
  const clients: RealtimeTestClient[] = [];
  const mint = (config: Record<string, unknown>) => request(app.baseUrl, { apiKey: RUNTIME_KEY.key, json: { config } });
  const open = async (config: Record<string, unknown> = PARROT) => {
    const client = await openWithTicket(app.baseUrl);
    clients.push(client);
    await client.start(config);
    return client;
  };

  beforeAll(async () => {
    upstream = await ToyUpstream.start();
    app = await startRealtimeApp(platform, {
      providers: [toyProvider],
      credentials: { toy: { apiKey: 'toy-secret', baseUrl: upstream.httpUrl } },
    });
  });
  afterEach(async () => closeAll(clients.splice(0)));
  afterAll(async () => {
    await app?.close();
    await upstream?.close();
  });

  it('its models join the catalogue and the registry serves its prefix', () => {
    const catalogue = app.app.get(ModelCatalogue);
    for (const model of toyProvider.models) expect(catalogue.get(model.id)).toEqual(model);
    // The built-in ones are still there.
    expect(catalogue.get('openai/gpt-realtime-2')?.realtime).toBe(true);
    expect(app.app.get(ProviderRegistry).forModel('toy/parrot')?.name).toBe('toy');
  });

  it('is checked at mint against its own capabilities', async () => {
    expectMinted(await mint({ model: 'toy/parrot', voice: 'kea' }));
    expect(expectError(await mint({ model: 'toy/parrot', voice: 'alloy' }), 400, 'unsupported_voice').message).toContain('polly, kea');
    expectError(await mint({ model: 'toy/parrot', turn_detection: { type: 'server_vad' } }), 400, 'unsupported_turn_detection');
    expectError(await mint({ model: 'toy/parrot', reasoning_effort: 'low' }), 400, 'unsupported_reasoning_effort');
    expectError(await mint({ model: 'toy/rock' }), 400, 'not_realtime_model');
    expectError(await mint({ model: 'toy/nothing' }), 400, 'unknown_model');
  });

  it('is checked at session.start too', async () => {
    const client = await openWithTicket(app.baseUrl);
    clients.push(client);
    client.send({ type: 'session.start', config: { model: 'toy/parrot', voice: 'alloy' } });
    expect((await client.nextError('unsupported_voice')).error.message).toContain('toy/parrot');
  });

  it('relays text, audio and tool calls through the core, with its credentials', async () => {
    const client = await open({ model: 'toy/parrot', voice: 'kea', tools: [{ name: 'wave' }] });
    expect(client.ofType('session.started')[0]).toMatchObject({ input_sample_rate: 16000, output_sample_rate: 16000 });
    const conn = upstream.last;
    expect(conn.url).toBe('/toy?model=parrot');
    expect(conn.authorization).toBe('Bearer toy-secret');
    expect(conn.received[0]).toEqual({ op: 'hello', voice: 'kea', tools: ['wave'] });

    client.send({ type: 'text.input', text: 'hello toy' });
    client.send({ type: 'response.create' });
    expect(await client.next('text.delta')).toMatchObject({ delta: 'HELLO TOY' });
    await client.next('response.completed');

    const pcm = Buffer.from([1, 2, 3, 4, 5, 6, 250, 251]);
    client.send({ type: 'audio.append', audio: pcm.toString('base64') });
    client.send({ type: 'audio.commit' });
    const echoed = await client.next('audio.delta');
    expect(Buffer.from(echoed.audio as string, 'base64').equals(pcm)).toBe(true);
    await client.next('response.completed');

    client.send({ type: 'text.input', text: 'call wave' });
    client.send({ type: 'response.create' });
    const call = await client.next('tool.call');
    expect(call).toMatchObject({ tool_name: 'wave', tool_arguments: '{}' });
    client.send({ type: 'tool.result', tool_call_id: call.tool_call_id, tool_result: { ok: true } });
    expect(await client.next('text.delta')).toMatchObject({ delta: 'result {"ok":true}' });
    // The core's tool-call tracker: a second result for the same call never reaches the toy.
    client.send({ type: 'tool.result', tool_call_id: call.tool_call_id, tool_result: 1 });
    await client.nextError('unknown_tool_call');
    expect(conn.received.filter((m) => m.op === 'result')).toHaveLength(1);
  });

  it('gets the whole-sample rule from the core: half a sample never reaches it', async () => {
    const client = await open();
    const conn = upstream.last;
    client.send({ type: 'audio.append', audio: Buffer.from([1, 2, 3]).toString('base64') });
    await client.nextError('invalid_audio');
    client.send({ type: 'audio.append', audio: Buffer.from([1, 2]).toString('base64') });
    client.send({ type: 'audio.commit' });
    await client.next('audio.delta');
    expect(conn.received.filter((m) => m.op === 'audio').map((m) => m.pcm)).toEqual([Buffer.from([1, 2]).toString('base64')]);
  });

  it('a session ends with upstream_closed when the toy closes, mapped by the core', async () => {
    const client = await open();
    upstream.last.socket.close(1001, 'bye');
    const terminating = await client.next('session.terminating');
    expect(terminating).toMatchObject({ error: { code: 'upstream_closed', message: 'Toy closed the connection (1001 bye)' } });
    expect((await client.closed).code).toBe(1001);
  });
});

describe.each(PLATFORMS)('which providers are on (%s)', (platform) => {
  const mintWith = (app: HttpApp, model: string) => request(app.baseUrl, { apiKey: RUNTIME_KEY.key, json: { config: { model } } });

  it('a plugin needing a key is refused at mint without one, yet known to the catalogue', async () => {
    await withRealtimeApp(platform, { providers: [toyProvider] }, async (app) => {
      expect(app.app.get(ModelCatalogue).get('toy/parrot')).toBeDefined();
      expectError(await mintWith(app, 'toy/parrot'), 400, 'provider_not_configured');
    });
  });

  it('loopback/echo is off in the library unless asked for', async () => {
    const plain = createHttpApp(platform, RealtimeSessionsModule.forRoot({ apiKeys: [RUNTIME_KEY] }));
    await withHttpApp(plain, async (app) => {
      expectError(await mintWith(app, 'loopback/echo'), 400, 'provider_not_configured');
      expect(app.app.get(ProviderRegistry).names()).toEqual([]);
    });
    const generic = createHttpApp(platform, RealtimeSessionsModule.forRoot({ apiKeys: [RUNTIME_KEY], credentials: { loopback: { enabled: true } } }));
    await withHttpApp(generic, async (app) => {
      expectMinted(await mintWith(app, 'loopback/echo'));
    });
    const legacy = createHttpApp(platform, RealtimeSessionsModule.forRoot({ apiKeys: [RUNTIME_KEY], loopback: true }));
    await withHttpApp(legacy, async (app) => {
      expectMinted(await mintWith(app, 'loopback/echo'));
    });
  });

  it('the named credentials options still work, and `credentials` by name does the same', async () => {
    const named = createHttpApp(platform, RealtimeSessionsModule.forRoot({ apiKeys: [RUNTIME_KEY], xai: { apiKey: 'xai-k' } }));
    await withHttpApp(named, async (app) => {
      expect(app.app.get(ProviderRegistry).names()).toEqual(['xai']);
      expectMinted(await mintWith(app, 'xai/grok-voice-latest'));
      expectError(await mintWith(app, 'openai/gpt-realtime-2'), 400, 'provider_not_configured');
    });
    const byName = createHttpApp(platform, RealtimeSessionsModule.forRoot({ apiKeys: [RUNTIME_KEY], credentials: { openai: { apiKey: 'sk-k' } } }));
    await withHttpApp(byName, async (app) => {
      expect(app.app.get(ProviderRegistry).names()).toEqual(['openai']);
      expectMinted(await mintWith(app, 'openai/gpt-realtime-2'));
    });
  });
});
