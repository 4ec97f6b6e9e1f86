// The built-in loopback/echo model through the whole gateway, over real sockets: real speech from
// test/fixtures/audio/hello_world.24k.wav goes in as audio.append and comes back byte-for-byte.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PLATFORMS, type HttpApp } from '../helpers/http-app.js';
import { startRealtimeApp } from '../helpers/realtime-app.js';
import { closeAll, openWithTicket, type RealtimeTestClient, type ServerFrame } from '../helpers/ws-client.js';

interface Wav {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  pcm: Buffer;
}

/** Reads a RIFF/WAVE file chunk by chunk (the `data` chunk is not assumed to start at byte 44). */
function readWav(path: string): Wav {
  const file = readFileSync(path);
  if (file.toString('ascii', 0, 4) !== 'RIFF' || file.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path}: not a RIFF/WAVE file`);
  let format: Omit<Wav, 'pcm'> | undefined;
  for (let offset = 12; offset + 8 <= file.length; ) {
    const id = file.toString('ascii', offset, offset + 4);
    const size = file.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      const audioFormat = file.readUInt16LE(body);
      if (audioFormat !== 1) throw new Error(`${path}: not PCM (format ${audioFormat})`);
      format = { channels: file.readUInt16LE(body + 2), sampleRate: file.readUInt32LE(body + 4), bitsPerSample: file.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!format) throw new Error(`${path}: data chunk before fmt chunk`);
      return { ...format, pcm: file.subarray(body, Math.min(body + size, file.length)) };
    }
    offset = body + size + (size % 2); // chunks are word-aligned
  }
  throw new Error(`${path}: no data chunk`);
}

const WAV = readWav(new URL('../fixtures/audio/hello_world.24k.wav', import.meta.url).pathname);
const SPEECH = WAV.pcm;
const CHUNK_BYTES = 4800; // 100 ms at 24 kHz PCM16 mono

function chunks(pcm: Buffer, size = CHUNK_BYTES): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < pcm.length; offset += size) out.push(pcm.subarray(offset, offset + size));
  return out;
}

function appendAll(client: RealtimeTestClient, pcm: Buffer): void {
  for (const chunk of chunks(pcm)) client.send({ type: 'audio.append', audio: chunk.toString('base64') });
}

function audioOf(events: ServerFrame[]): Buffer {
  return Buffer.concat(events.filter((e) => e.type === 'audio.delta').map((e) => Buffer.from(e.audio as string, 'base64')));
}

/** The event types of one response, from response.started to response.completed. */
function shapeOf(events: ServerFrame[]): string[] {
  const types = events.map((e) => e.type);
  return types.filter((type, i) => type !== types[i - 1]);
}

describe('the speech fixture', () => {
  it('is 24 kHz PCM16 mono with about a second of audio', () => {
    expect({ sampleRate: WAV.sampleRate, channels: WAV.channels, bitsPerSample: WAV.bitsPerSample }).toEqual({ sampleRate: 24000, channels: 1, bitsPerSample: 16 });
    expect(SPEECH.length % 2).toBe(0);
    expect(SPEECH.length / 48).toBeGreaterThan(900);
    expect(SPEECH.length / 48).toBeLessThan(1100);
    // Real speech, not silence.
    let peak = 0;
    for (let i = 0; i < SPEECH.length; i += 2) peak = Math.max(peak, Math.abs(SPEECH.readInt16LE(i)));
    expect(peak).toBeGreaterThan(1000);
  });
});

describe.each(PLATFORMS)('loopback/echo through the gateway (%s)', (platform) => {
  let app: HttpApp;
  const clients: RealtimeTestClient[] = [];
  const open = async (config: Record<string, unknown>) => {
    const client = await openWithTicket(app.baseUrl);
    clients.push(client);
    await client.start({ model: 'loopback/echo', ...config });
    return client;
  };
  const speechMs = Math.floor(SPEECH.length / 48);

  beforeAll(async () => {
    app = await startRealtimeApp(platform);
  });
  afterAll(async () => {
    await closeAll(clients);
    await app.close();
  });

  it('echoes committed speech byte-for-byte, wrapped in response.started / response.completed', async () => {
    const client = await open({});
    appendAll(client, SPEECH);
    await client.settle(100);
    // Nothing comes back before the commit.
    expect(client.ofType('response.started')).toEqual([]);
    client.send({ type: 'audio.commit' });
    await client.next('response.completed');
    const echoed = audioOf(client.events);
    expect(echoed.length).toBe(SPEECH.length);
    expect(echoed.equals(SPEECH)).toBe(true);
    expect(shapeOf(client.events.slice(1))).toEqual(['response.started', 'audio.delta', 'response.completed']);
    expect(client.ofType('transcript.committed')).toEqual([]);
    expect(client.ofType('text.delta')).toEqual([]);
  });

  it('echoes only what was appended since the last commit', async () => {
    const client = await open({});
    const [first, second] = [SPEECH.subarray(0, 9600), SPEECH.subarray(9600, 24000)];
    appendAll(client, first);
    client.send({ type: 'audio.commit' });
    await client.next('response.completed');
    appendAll(client, second);
    client.send({ type: 'audio.commit' });
    await client.next('response.completed');
    const responses = [client.events.indexOf(client.ofType('response.completed')[0])];
    expect(audioOf(client.events.slice(0, responses[0])).equals(first)).toBe(true);
    expect(audioOf(client.events.slice(responses[0])).equals(second)).toBe(true);
  });

  it('detects the end of speech with server_vad (silence_duration_ms 200) without a commit', async () => {
    const client = await open({ turn_detection: { type: 'server_vad', silence_duration_ms: 200 } });
    appendAll(client, SPEECH);
    const lastAppendAt = Date.now();
    await client.next('speech.started');
    await client.next('speech.stopped', 3000);
    expect(Date.now() - lastAppendAt).toBeGreaterThanOrEqual(150);
    await client.next('response.completed', 3000);
    expect(audioOf(client.events).equals(SPEECH)).toBe(true);
    expect(shapeOf(client.events.slice(1))).toEqual(['speech.started', 'speech.stopped', 'response.started', 'audio.delta', 'response.completed']);
  });

  it('reports input transcription (transcript.committed) and output transcription (text.delta)', async () => {
    const client = await open({ input_transcription: true, output_transcription: true });
    appendAll(client, SPEECH);
    client.send({ type: 'audio.commit' });
    await client.next('response.completed');
    expect(client.ofType('transcript.committed').map((e) => e.transcript)).toEqual([`${speechMs} ms of audio`]);
    expect(client.ofType('text.delta').map((e) => e.delta)).toEqual([`echo: ${speechMs} ms of audio`]);
    expect(audioOf(client.events).equals(SPEECH)).toBe(true);
  });

  it('answers text.input only after response.create, with the same text', async () => {
    const client = await open({});
    client.send({ type: 'text.input', text: 'Hello, loopback! Ünïcödé ✓' });
    await client.settle(100);
    expect(client.ofType('text.delta')).toEqual([]);
    client.send({ type: 'response.create' });
    await client.next('response.completed');
    expect(client.ofType('text.delta').map((e) => e.delta)).toEqual(['Hello, loopback! Ünïcödé ✓']);
    expect(shapeOf(client.events.slice(1))).toEqual(['response.started', 'text.delta', 'response.completed']);
  });

  it('round-trips a tool call: tool.call, then tool.result makes the model continue without response.create', async () => {
    const tools = [{ name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    const client = await open({ tools });
    client.send({ type: 'text.input', text: 'call get_weather {"city": "Paris"}' });
    client.send({ type: 'response.create' });
    const call = await client.next('tool.call');
    expect(call).toEqual({ type: 'tool.call', tool_call_id: expect.stringMatching(/\S/), tool_name: 'get_weather', tool_arguments: '{"city":"Paris"}' });
    expect(JSON.parse(call.tool_arguments as string)).toEqual({ city: 'Paris' });
    await client.next('response.completed');
    expect(client.ofType('text.delta')).toEqual([]);

    client.send({ type: 'tool.result', tool_call_id: call.tool_call_id, tool_result: { temperature_c: 21, sky: 'clear' } });
    await client.next('response.completed');
    expect(client.ofType('text.delta').map((e) => JSON.parse(e.delta as string))).toEqual([{ temperature_c: 21, sky: 'clear' }]);
    expect(client.ofType('response.started')).toHaveLength(2);
    expect(client.errorCodes()).toEqual([]);
  });

  it('stops an in-flight echo on response.cancel', async () => {
    const client = await open({});
    // 60 s of audio: 600 echoed frames, far more than can go out before the cancel lands.
    const long = Buffer.concat(Array.from({ length: Math.ceil(60_000 / speechMs) }, () => SPEECH));
    appendAll(client, long);
    client.send({ type: 'audio.commit' });
    await client.next('response.started', 10_000);
    client.send({ type: 'response.cancel' });
    await client.next('response.completed', 10_000);
    const completedAt = client.events.length;
    await client.settle(200);
    const echoed = audioOf(client.events);
    expect(echoed.length).toBeLessThan(long.length);
    // What did come back is a prefix of what was sent, and nothing followed the completion.
    expect(echoed.equals(long.subarray(0, echoed.length))).toBe(true);
    expect(client.events.length).toBe(completedAt);

    // The session goes on: the next turn is echoed in full.
    appendAll(client, SPEECH);
    client.send({ type: 'audio.commit' });
    await client.next('response.completed');
    expect(audioOf(client.events.slice(completedAt)).equals(SPEECH)).toBe(true);
  }, 30_000);
});
