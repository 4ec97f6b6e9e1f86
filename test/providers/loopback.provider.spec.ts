// Unit tests of the loopback provider, driven only through the RealtimeProvider interface: the
// gateway's e2e tests rely on exactly this behaviour (echo, VAD, transcripts, tools, pacing).
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { LoopbackProvider } from '../../src/providers/loopback/loopback.provider.js';
import type { ServerEvent, UpstreamEnd, UpstreamHandlers, UpstreamSession } from '../../src/providers/realtime-provider.js';
import { BUILT_IN_MODELS } from '../../src/providers/built-in-providers.js';
import type { SessionConfig } from '../../src/session-config/session-config.js';

const LOOPBACK_MODEL = BUILT_IN_MODELS.find((model) => model.id === 'loopback/echo')!;
const BYTES_PER_SECOND = 24000 * 2;

interface Harness {
  session: UpstreamSession;
  events: ServerEvent[];
  ends: UpstreamEnd[];
}

async function openLoopback(
  config: SessionConfig = {},
  onEvent?: (event: ServerEvent, harness: Harness) => void,
): Promise<Harness> {
  const events: ServerEvent[] = [];
  const ends: UpstreamEnd[] = [];
  const harness = { events, ends } as Harness;
  const handlers: UpstreamHandlers = {
    onEvent: (event) => {
      events.push(event);
      onEvent?.(event, harness);
    },
    onEnd: (end) => ends.push(end),
  };
  harness.session = await new LoopbackProvider().open({
    sessionId: 'sess_test',
    projectId: 'proj_test',
    config: { model: 'loopback/echo', ...config },
    model: LOOPBACK_MODEL,
    handlers,
    signal: new AbortController().signal,
  });
  return harness;
}

/** Deterministic, non-repeating-looking PCM so a misplaced byte changes the content. */
function pcm(bytes: number, seed = 1): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  return out;
}

function append(session: UpstreamSession, bytes: Buffer): void {
  session.send({ type: 'audio.append', audio: bytes.toString('base64') });
}

const types = (events: ServerEvent[]): string[] => events.map((event) => event.type);

function audioDeltas(events: ServerEvent[]): Buffer[] {
  return events.flatMap((event) => (event.type === 'audio.delta' ? [Buffer.from(event.audio, 'base64')] : []));
}

function textDeltas(events: ServerEvent[]): string[] {
  return events.flatMap((event) => (event.type === 'text.delta' ? [event.delta] : []));
}

function errorCodes(events: ServerEvent[]): string[] {
  return events.flatMap((event) => (event.type === 'error' ? [event.error.code] : []));
}

const count = (events: ServerEvent[], type: ServerEvent['type']): number => events.filter((e) => e.type === type).length;

const nextImmediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Lets the provider's paced production run (real timers) until `done` holds. */
async function until(done: () => boolean, maxTicks = 10_000): Promise<void> {
  for (let i = 0; i < maxTicks; i++) {
    if (done()) return;
    await nextImmediate();
  }
  throw new Error('condition not reached');
}

const completedCount = (h: Harness, n: number) => () => count(h.events, 'response.completed') >= n;

/** Gives the provider plenty of ticks to emit anything it still would. */
async function idle(ticks = 200): Promise<void> {
  for (let i = 0; i < ticks; i++) await nextImmediate();
}

afterEach(() => {
  jest.useRealTimers();
});

describe('LoopbackProvider.open', () => {
  it('serves the loopback prefix at 24 kHz in and out, with nothing buffered', async () => {
    const provider = new LoopbackProvider();
    expect(provider.name).toBe('loopback');
    const { session, events } = await openLoopback();
    expect(session.inputSampleRate).toBe(24000);
    expect(session.outputSampleRate).toBe(24000);
    expect(session.bufferedAmount).toBe(0);
    expect(events).toEqual([]);
    session.close();
  });

  it('rejects when the client already left', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      new LoopbackProvider().open({
        sessionId: 'sess_test',
        projectId: 'proj_test',
        config: { model: 'loopback/echo' },
        model: LOOPBACK_MODEL,
        handlers: { onEvent: () => undefined, onEnd: () => undefined },
        signal: controller.signal,
      }),
    ).rejects.toThrow(Error);
  });
});

describe('audio echo', () => {
  it('echoes the committed audio byte-for-byte in frames of at most 4800 bytes, odd-sized tail included', async () => {
    const h = await openLoopback();
    const chunks = [pcm(7000, 1), pcm(4800, 2), pcm(3002, 3), pcm(2, 4)];
    for (const chunk of chunks) append(h.session, chunk);
    await idle(20);
    expect(h.events).toEqual([]); // nothing before the commit (no server_vad)

    h.session.send({ type: 'audio.commit' });
    await until(completedCount(h, 1));

    const sent = Buffer.concat(chunks); // 14804 bytes = 3 × 4800 + 404
    const frames = audioDeltas(h.events);
    expect(frames.map((frame) => frame.length)).toEqual([4800, 4800, 4800, 404]);
    expect(Buffer.concat(frames).equals(sent)).toBe(true);
    expect(types(h.events)).toEqual(['response.started', 'audio.delta', 'audio.delta', 'audio.delta', 'audio.delta', 'response.completed']);
    h.session.close();
  });

  it('re-frames many small appends exactly', async () => {
    const h = await openLoopback();
    const chunks = Array.from({ length: 150 }, (_, i) => pcm(98 + 2 * (i % 5), i));
    for (const chunk of chunks) append(h.session, chunk);
    h.session.send({ type: 'audio.commit' });
    await until(completedCount(h, 1));
    const frames = audioDeltas(h.events);
    expect(frames.every((frame) => frame.length <= 4800 && frame.length > 0)).toBe(true);
    expect(Buffer.concat(frames).equals(Buffer.concat(chunks))).toBe(true);
    h.session.close();
  });

  it('is byte-exact for any split of the audio into appends (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 6000 }), { minLength: 1, maxLength: 8 }), async (halfSizes) => {
        const h = await openLoopback();
        const chunks = halfSizes.map((half, i) => pcm(half * 2, i));
        const sent = Buffer.concat(chunks);
        for (const chunk of chunks) append(h.session, chunk);
        h.session.send({ type: 'audio.commit' });
        if (sent.length === 0) {
          expect(errorCodes(h.events)).toEqual(['input_audio_buffer_empty']);
        } else {
          await until(completedCount(h, 1));
          const frames = audioDeltas(h.events);
          expect(frames.length).toBe(Math.ceil(sent.length / 4800));
          expect(Buffer.concat(frames).equals(sent)).toBe(true);
        }
        h.session.close();
      }),
      { numRuns: 40 },
    );
  });

  it('echoes only the audio appended since the last commit', async () => {
    const h = await openLoopback();
    const first = pcm(6000, 1);
    const second = pcm(1000, 2);
    append(h.session, first);
    h.session.send({ type: 'audio.commit' });
    await until(completedCount(h, 1));
    const afterFirst = h.events.length;
    append(h.session, second);
    h.session.send({ type: 'audio.commit' });
    await until(completedCount(h, 2));
    expect(Buffer.concat(audioDeltas(h.events.slice(0, afterFirst))).equals(first)).toBe(true);
    expect(Buffer.concat(audioDeltas(h.events.slice(afterFirst))).equals(second)).toBe(true);
    h.session.close();
  });

  it('paces the echo asynchronously: the commit itself only starts the response', async () => {
    const h = await openLoopback();
    append(h.session, pcm(48_000));
    h.session.send({ type: 'audio.commit' });
    expect(types(h.events)).toEqual(['response.started']);
    await nextImmediate();
    expect(count(h.events, 'audio.delta')).toBeLessThanOrEqual(1);
    await until(completedCount(h, 1));
    expect(count(h.events, 'audio.delta')).toBe(10);
    h.session.close();
  });

  it('commit with no audio is an input_audio_buffer_empty error and nothing else', async () => {
    const h = await openLoopback({ input_transcription: true, output_transcription: true });
    h.session.send({ type: 'audio.commit' });
    await idle();
    expect(h.events).toEqual([{ type: 'error', error: { code: 'input_audio_buffer_empty', message: expect.any(String) } }]);
    h.session.close();
  });

  it('audio.clear drops the uncommitted audio', async () => {
    const h = await openLoopback();
    append(h.session, pcm(2000, 1));
    h.session.send({ type: 'audio.clear' });
    h.session.send({ type: 'audio.commit' });
    await idle(20);
    expect(errorCodes(h.events)).toEqual(['input_audio_buffer_empty']);
    expect(count(h.events, 'response.started')).toBe(0);

    const kept = pcm(1000, 2);
    append(h.session, kept);
    h.session.send({ type: 'audio.commit' });
    await until(completedCount(h, 1));
    expect(Buffer.concat(audioDeltas(h.events)).equals(kept)).toBe(true);
    h.session.close();
  });

  it.each([
    ['not base64 at all', '@@@@'],
    ['base64 with a space', 'AAAA AAAA'],
    ['unpadded length', 'AAAAA'],
    ['padding in the middle', 'AA==AAAA'],
    ['one byte (half a sample)', Buffer.from([1]).toString('base64')],
    ['three bytes', Buffer.from([1, 2, 3]).toString('base64')],
  ])('rejects a malformed payload (%s) with invalid_audio and keeps the buffer', async (_label, audio) => {
    const h = await openLoopback();
    const good = pcm(1200, 7);
    append(h.session, good);
    h.session.send({ type: 'audio.append', audio });
    expect(errorCodes(h.events)).toEqual(['invalid_audio']);
    h.session.send({ type: 'audio.commit' });
    await until(completedCount(h, 1));
    expect(Buffer.concat(audioDeltas(h.events)).equals(good)).toBe(true);
    h.session.close();
  });

  it('an empty append adds nothing', async () => {
    const h = await openLoopback({ turn_detection: { type: 'server_vad' } });
    h.session.send({ type: 'audio.append', audio: '' });
    h.session.send({ type: 'audio.commit' });
    expect(types(h.events)).toEqual(['error']);
    expect(errorCodes(h.events)).toEqual(['input_audio_buffer_empty']);
    h.session.close();
  });
});

describe('transcription', () => {
  it('input_transcription: transcript.committed "<N> ms of audio" at commit, before the response', async () => {
    const h = await openLoopback({ input_transcription: true });
    append(h.session, pcm(14_802)); // 308.375 ms → 308
    h.session.send({ type: 'audio.commit' });
    await until(completedCount(h, 1));
    expect(h.events[0]).toEqual({ type: 'transcript.committed', transcript: '308 ms of audio' });
    expect(h.events[1]).toEqual({ type: 'response.started' });
    expect(count(h.events, 'transcript.committed')).toBe(1);
    expect(textDeltas(h.events)).toEqual([]);
    h.session.close();
  });

  it('output_transcription: text.delta "echo: <N> ms of audio" inside the response', async () => {
    const h = await openLoopback({ output_transcription: true });
    append(h.session, pcm(BYTES_PER_SECOND / 2));
    h.session.send({ type: 'audio.commit' });
    await until(completedCount(h, 1));
    expect(types(h.events).slice(0, 3)).toEqual(['response.started', 'text.delta', 'audio.delta']);
    expect(textDeltas(h.events)).toEqual(['echo: 500 ms of audio']);
    expect(count(h.events, 'transcript.committed')).toBe(0);
    expect(h.events.at(-1)).toEqual({ type: 'response.completed' });
    h.session.close();
  });
});

describe('server_vad', () => {
  it('speech.started on the first append, then after the default 500 ms of silence: speech.stopped, transcript, response', async () => {
    jest.useFakeTimers();
    const h = await openLoopback({ turn_detection: { type: 'server_vad' }, input_transcription: true });
    const a = pcm(4800, 1);
    const b = pcm(2400, 2);
    append(h.session, a);
    expect(types(h.events)).toEqual(['speech.started']);
    jest.advanceTimersByTime(499);
    append(h.session, b); // new audio restarts the silence window
    jest.advanceTimersByTime(499);
    expect(types(h.events)).toEqual(['speech.started']);
    jest.advanceTimersByTime(1);
    expect(types(h.events)).toEqual(['speech.started', 'speech.stopped', 'transcript.committed', 'response.started']);
    expect(h.events[2]).toEqual({ type: 'transcript.committed', transcript: '150 ms of audio' });
    jest.runAllTimers();
    expect(types(h.events).slice(4)).toEqual(['audio.delta', 'audio.delta', 'response.completed']);
    expect(Buffer.concat(audioDeltas(h.events)).equals(Buffer.concat([a, b]))).toBe(true);

    // The next append after the turn is a new speech segment.
    append(h.session, pcm(480, 3));
    expect(h.events.at(-1)).toEqual({ type: 'speech.started' });
    h.session.close();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('honours silence_duration_ms', async () => {
    jest.useFakeTimers();
    const h = await openLoopback({ turn_detection: { type: 'server_vad', silence_duration_ms: 200 } });
    append(h.session, pcm(960));
    jest.advanceTimersByTime(199);
    expect(types(h.events)).toEqual(['speech.started']);
    jest.advanceTimersByTime(1);
    expect(types(h.events)).toEqual(['speech.started', 'speech.stopped', 'response.started']);
    h.session.close();
  });

  it('treats silence_duration_ms 0 (the zero value) as the 500 ms default', async () => {
    jest.useFakeTimers();
    const h = await openLoopback({ turn_detection: { type: 'server_vad', silence_duration_ms: 0 } });
    append(h.session, pcm(960));
    jest.advanceTimersByTime(499);
    expect(types(h.events)).toEqual(['speech.started']);
    jest.advanceTimersByTime(1);
    expect(count(h.events, 'speech.stopped')).toBe(1);
    h.session.close();
  });

  it('works on real timers with a short silence window', async () => {
    const h = await openLoopback({ turn_detection: { type: 'server_vad', silence_duration_ms: 20 } });
    const sent = pcm(9600 + 6);
    append(h.session, sent);
    await new Promise((resolve) => setTimeout(resolve, 40));
    await until(completedCount(h, 1));
    expect(types(h.events).slice(0, 3)).toEqual(['speech.started', 'speech.stopped', 'response.started']);
    expect(Buffer.concat(audioDeltas(h.events)).equals(sent)).toBe(true);
    h.session.close();
  });

  it('a manual commit ends the speech segment and stops the silence timer', async () => {
    jest.useFakeTimers();
    const h = await openLoopback({ turn_detection: { type: 'server_vad' } });
    append(h.session, pcm(960));
    h.session.send({ type: 'audio.commit' });
    expect(types(h.events)).toEqual(['speech.started', 'speech.stopped', 'response.started']);
    jest.runAllTimers();
    jest.advanceTimersByTime(5000);
    expect(count(h.events, 'response.started')).toBe(1);
    expect(count(h.events, 'speech.stopped')).toBe(1);
    h.session.close();
  });

  it('after audio.clear the silence still closes the segment, but there is no response', async () => {
    jest.useFakeTimers();
    const h = await openLoopback({ turn_detection: { type: 'server_vad' } });
    append(h.session, pcm(960));
    h.session.send({ type: 'audio.clear' });
    jest.advanceTimersByTime(500);
    jest.runAllTimers();
    expect(types(h.events)).toEqual(['speech.started', 'speech.stopped']);
    h.session.close();
  });

  it('invalid audio neither starts speech nor restarts the silence window', async () => {
    jest.useFakeTimers();
    const h = await openLoopback({ turn_detection: { type: 'server_vad' } });
    h.session.send({ type: 'audio.append', audio: '!!!!' });
    expect(types(h.events)).toEqual(['error']);
    append(h.session, pcm(960));
    jest.advanceTimersByTime(300);
    h.session.send({ type: 'audio.append', audio: '!!!!' });
    jest.advanceTimersByTime(200);
    expect(types(h.events)).toEqual(['error', 'speech.started', 'error', 'speech.stopped', 'response.started']);
    h.session.close();
  });

  it('without server_vad there are no speech events and no automatic commit', async () => {
    jest.useFakeTimers();
    for (const turn_detection of [undefined, { type: 'none' as const }, { type: 'semantic_vad' as const }]) {
      const h = await openLoopback({ turn_detection });
      append(h.session, pcm(960));
      jest.advanceTimersByTime(60_000);
      jest.runAllTimers();
      expect(h.events).toEqual([]);
      h.session.close();
    }
  });
});

describe('text', () => {
  it('text.input then response.create: started, the same text, completed', async () => {
    const h = await openLoopback();
    h.session.send({ type: 'text.input', text: 'hello there' });
    await idle(10);
    expect(h.events).toEqual([]);
    h.session.send({ type: 'response.create' });
    await until(completedCount(h, 1));
    expect(h.events).toEqual([{ type: 'response.started' }, { type: 'text.delta', delta: 'hello there' }, { type: 'response.completed' }]);
    h.session.close();
  });

  it('joins several text.inputs with a newline and consumes them', async () => {
    const h = await openLoopback();
    h.session.send({ type: 'text.input', text: 'one' });
    h.session.send({ type: 'text.input', text: 'two' });
    h.session.send({ type: 'text.input', text: 'three' });
    h.session.send({ type: 'response.create' });
    await until(completedCount(h, 1));
    h.session.send({ type: 'response.create' });
    await until(completedCount(h, 2));
    expect(textDeltas(h.events)).toEqual(['one\ntwo\nthree']);
    expect(types(h.events).slice(3)).toEqual(['response.started', 'response.completed']);
    h.session.close();
  });

  it('response.create with nothing pending: started and completed', async () => {
    const h = await openLoopback();
    h.session.send({ type: 'response.create' });
    await until(completedCount(h, 1));
    expect(types(h.events)).toEqual(['response.started', 'response.completed']);
    h.session.close();
  });

  it('image.input contributes its text only', async () => {
    const h = await openLoopback();
    h.session.send({ type: 'image.input', image_url: 'data:image/png;base64,iVBORw0KGgo=' });
    h.session.send({ type: 'text.input', text: 'look' });
    h.session.send({ type: 'image.input', image_url: 'https://example.test/cat.png', image_detail: 'low', text: 'a cat?' });
    h.session.send({ type: 'response.create' });
    await until(completedCount(h, 1));
    expect(textDeltas(h.events)).toEqual(['look\na cat?']);
    h.session.close();
  });

  it('text does not include or commit pending audio', async () => {
    const h = await openLoopback();
    const audio = pcm(960);
    append(h.session, audio);
    h.session.send({ type: 'text.input', text: 'hi' });
    h.session.send({ type: 'response.create' });
    await until(completedCount(h, 1));
    expect(count(h.events, 'audio.delta')).toBe(0);
    h.session.send({ type: 'audio.commit' });
    await until(completedCount(h, 2));
    expect(Buffer.concat(audioDeltas(h.events)).equals(audio)).toBe(true);
    h.session.close();
  });
});

describe('tools', () => {
  const weatherTools: SessionConfig = {
    tools: [{ name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object' } }, { name: 'get_time' }],
  };

  async function callTool(h: Harness, text: string): Promise<Extract<ServerEvent, { type: 'tool.call' }>> {
    const before = count(h.events, 'response.completed');
    h.session.send({ type: 'text.input', text });
    h.session.send({ type: 'response.create' });
    await until(completedCount(h, before + 1));
    const call = h.events.filter((e): e is Extract<ServerEvent, { type: 'tool.call' }> => e.type === 'tool.call').at(-1);
    if (!call) throw new Error('no tool.call');
    return call;
  }

  it('round trip: tool.call with compact arguments, then tool.result makes the model continue by itself', async () => {
    const h = await openLoopback(weatherTools);
    const call = await callTool(h, 'call get_weather { "city" : "Paris", "days": [1, 2] }');
    expect(types(h.events)).toEqual(['response.started', 'tool.call', 'response.completed']);
    expect(call.tool_call_id).toMatch(/^call_[A-Za-z0-9]+$/);
    expect(call.tool_name).toBe('get_weather');
    expect(call.tool_arguments).toBe('{"city":"Paris","days":[1,2]}');

    const result = { temperature_c: 18, sky: 'cloudy', note: 'ünïcode "quoted"' };
    h.session.send({ type: 'tool.result', tool_call_id: call.tool_call_id, tool_result: result });
    await until(completedCount(h, 2));
    expect(h.events.slice(3)).toEqual([
      { type: 'response.started' },
      { type: 'text.delta', delta: JSON.stringify(result) },
      { type: 'response.completed' },
    ]);
    h.session.close();
  });

  it('every call gets a fresh id, and each id can be answered once', async () => {
    const h = await openLoopback(weatherTools);
    const first = await callTool(h, 'call get_time {}');
    const second = await callTool(h, 'call get_time {}');
    expect(first.tool_call_id).not.toBe(second.tool_call_id);
    expect(first.tool_arguments).toBe('{}');

    h.session.send({ type: 'tool.result', tool_call_id: second.tool_call_id, tool_result: 'noon' });
    h.session.send({ type: 'tool.result', tool_call_id: first.tool_call_id, tool_result: null });
    await until(completedCount(h, 4));
    expect(textDeltas(h.events)).toEqual(['"noon"', 'null']);

    const before = h.events.length;
    h.session.send({ type: 'tool.result', tool_call_id: first.tool_call_id, tool_result: 1 });
    await idle(20);
    expect(h.events.slice(before)).toEqual([{ type: 'error', error: { code: 'unknown_tool_call', message: expect.any(String) } }]);
    h.session.close();
  });

  it('a tool.result for an unknown id is an unknown_tool_call error and nothing else', async () => {
    const h = await openLoopback(weatherTools);
    h.session.send({ type: 'tool.result', tool_call_id: 'call_nope', tool_result: {} });
    await idle(20);
    expect(types(h.events)).toEqual(['error']);
    expect(errorCodes(h.events)).toEqual(['unknown_tool_call']);
    h.session.close();
  });

  it.each([
    ['invalid JSON', weatherTools, 'call get_weather {city: Paris}'],
    ['no JSON', weatherTools, 'call get_weather'],
    ['JSON that is not an object', weatherTools, 'call get_weather [1,2]'],
    ['an unknown tool', weatherTools, 'call get_stock {"ticker":"X"}'],
    ['a session without tools', {}, 'call get_weather {"city":"Paris"}'],
  ])('%s is echoed as plain text', async (_label, config, text) => {
    const h = await openLoopback(config);
    h.session.send({ type: 'text.input', text });
    h.session.send({ type: 'response.create' });
    await until(completedCount(h, 1));
    expect(h.events).toEqual([{ type: 'response.started' }, { type: 'text.delta', delta: text }, { type: 'response.completed' }]);
    h.session.close();
  });

  it('a call cancelled before its tool.call went out leaves nothing to answer', async () => {
    const h = await openLoopback(weatherTools);
    h.session.send({ type: 'text.input', text: 'call get_time {}' });
    h.session.send({ type: 'response.create' });
    h.session.send({ type: 'response.cancel' });
    await idle(20);
    expect(types(h.events)).toEqual(['response.started', 'response.completed']);
    h.session.close();
  });
});

describe('response.cancel', () => {
  it('stops a long echo mid-way: fewer bytes, completed once, no delta afterwards', async () => {
    const h = await openLoopback({ output_transcription: true });
    const sent = pcm(5 * BYTES_PER_SECOND); // 5 s: 50 frames
    append(h.session, sent);
    h.session.send({ type: 'audio.commit' });
    await until(() => count(h.events, 'audio.delta') >= 3);
    h.session.send({ type: 'response.cancel' });
    const cancelledAt = h.events.length;
    expect(h.events.at(-1)).toEqual({ type: 'response.completed' });
    await idle(300);

    expect(h.events.length).toBe(cancelledAt);
    expect(count(h.events, 'response.completed')).toBe(1);
    const echoed = Buffer.concat(audioDeltas(h.events));
    expect(echoed.length).toBeLessThan(sent.length);
    expect(echoed.equals(sent.subarray(0, echoed.length))).toBe(true);
    h.session.close();
  });

  it('cancelling right after the commit sends no delta at all', async () => {
    const h = await openLoopback();
    append(h.session, pcm(BYTES_PER_SECOND));
    h.session.send({ type: 'audio.commit' });
    h.session.send({ type: 'response.cancel' });
    await idle(50);
    expect(types(h.events)).toEqual(['response.started', 'response.completed']);
    h.session.close();
  });

  it('is a no-op with nothing in flight', async () => {
    const h = await openLoopback();
    h.session.send({ type: 'response.cancel' });
    h.session.send({ type: 'text.input', text: 'x' });
    h.session.send({ type: 'response.create' });
    await until(completedCount(h, 1));
    h.session.send({ type: 'response.cancel' });
    await idle(20);
    expect(types(h.events)).toEqual(['response.started', 'text.delta', 'response.completed']);
    h.session.close();
  });

  it('cancels only the response in flight: the queued one then runs in full', async () => {
    const h = await openLoopback();
    append(h.session, pcm(5 * BYTES_PER_SECOND));
    h.session.send({ type: 'audio.commit' });
    h.session.send({ type: 'text.input', text: 'after' });
    h.session.send({ type: 'response.create' });
    await until(() => count(h.events, 'audio.delta') >= 1);
    h.session.send({ type: 'response.cancel' });
    await until(completedCount(h, 2));
    const afterFirst = types(h.events).indexOf('response.completed') + 1;
    expect(h.events.slice(afterFirst)).toEqual([{ type: 'response.started' }, { type: 'text.delta', delta: 'after' }, { type: 'response.completed' }]);
    h.session.close();
  });

  it('works when the gateway cancels from inside its event handler', async () => {
    const h = await openLoopback({}, (event, harness) => {
      if (event.type === 'audio.delta' && count(harness.events, 'audio.delta') === 2) harness.session.send({ type: 'response.cancel' });
    });
    append(h.session, pcm(5 * BYTES_PER_SECOND));
    h.session.send({ type: 'audio.commit' });
    await until(completedCount(h, 1));
    await idle(50);
    expect(types(h.events)).toEqual(['response.started', 'audio.delta', 'audio.delta', 'response.completed']);
    h.session.close();
  });
});

describe('serialization', () => {
  it('a response that starts while another is in flight waits for it', async () => {
    const h = await openLoopback({ tools: [{ name: 'ping' }] });
    const first = pcm(3 * 4800 + 10, 1);
    const second = pcm(4800, 2);
    append(h.session, first);
    h.session.send({ type: 'audio.commit' });
    h.session.send({ type: 'text.input', text: 'between' });
    h.session.send({ type: 'response.create' });
    append(h.session, second);
    h.session.send({ type: 'audio.commit' });
    h.session.send({ type: 'text.input', text: 'call ping {"n":1}' });
    h.session.send({ type: 'response.create' });
    await until(completedCount(h, 4));

    expect(types(h.events)).toEqual([
      'response.started', 'audio.delta', 'audio.delta', 'audio.delta', 'audio.delta', 'response.completed',
      'response.started', 'text.delta', 'response.completed',
      'response.started', 'audio.delta', 'response.completed',
      'response.started', 'tool.call', 'response.completed',
    ]);
    const boundary = types(h.events).indexOf('response.completed');
    expect(Buffer.concat(audioDeltas(h.events.slice(0, boundary))).equals(first)).toBe(true);
    expect(Buffer.concat(audioDeltas(h.events.slice(boundary))).equals(second)).toBe(true);
    h.session.close();
  });

  it('a tool.result sent while its call is still in flight waits for that response to end', async () => {
    const h = await openLoopback({ tools: [{ name: 'ping' }] }, (event, harness) => {
      if (event.type === 'tool.call') {
        harness.session.send({ type: 'tool.result', tool_call_id: event.tool_call_id, tool_result: { pong: true } });
      }
    });
    h.session.send({ type: 'text.input', text: 'call ping {}' });
    h.session.send({ type: 'response.create' });
    await until(completedCount(h, 2));
    expect(types(h.events)).toEqual(['response.started', 'tool.call', 'response.completed', 'response.started', 'text.delta', 'response.completed']);
    expect(textDeltas(h.events)).toEqual(['{"pong":true}']);
    h.session.close();
  });
});

describe('session.update', () => {
  it('applies tools and transcription flags to later turns', async () => {
    const h = await openLoopback();
    h.session.send({ type: 'text.input', text: 'call lookup {"q":"a"}' });
    h.session.send({ type: 'response.create' });
    await until(completedCount(h, 1));
    expect(count(h.events, 'tool.call')).toBe(0);

    const config: SessionConfig = { model: 'loopback/echo', tools: [{ name: 'lookup' }], input_transcription: true, output_transcription: true };
    h.session.send({ type: 'session.update', config, changed: ['tools', 'input_transcription', 'output_transcription'] });
    h.session.send({ type: 'text.input', text: 'call lookup {"q":"a"}' });
    h.session.send({ type: 'response.create' });
    append(h.session, pcm(4800));
    h.session.send({ type: 'audio.commit' });
    await until(completedCount(h, 3));
    expect(count(h.events, 'tool.call')).toBe(1);
    expect(h.events).toContainEqual({ type: 'transcript.committed', transcript: '100 ms of audio' });
    expect(textDeltas(h.events).at(-1)).toBe('echo: 100 ms of audio');
    h.session.close();
  });

  it('does not change a turn already committed', async () => {
    const h = await openLoopback({ output_transcription: true });
    append(h.session, pcm(9600));
    h.session.send({ type: 'audio.commit' });
    h.session.send({ type: 'session.update', config: { model: 'loopback/echo', output_transcription: false }, changed: ['output_transcription'] });
    await until(completedCount(h, 1));
    expect(textDeltas(h.events)).toEqual(['echo: 200 ms of audio']);
    h.session.close();
  });

  it('switching to server_vad turns on automatic turns', async () => {
    jest.useFakeTimers();
    const h = await openLoopback();
    h.session.send({ type: 'session.update', config: { model: 'loopback/echo', turn_detection: { type: 'server_vad', silence_duration_ms: 100 } }, changed: ['turn_detection'] });
    append(h.session, pcm(960));
    jest.advanceTimersByTime(100);
    expect(types(h.events)).toEqual(['speech.started', 'speech.stopped', 'response.started']);
    h.session.close();
  });

  it('leaving server_vad mid-speech closes the segment and keeps the audio for a manual commit', async () => {
    jest.useFakeTimers();
    const h = await openLoopback({ turn_detection: { type: 'server_vad' } });
    const audio = pcm(960);
    append(h.session, audio);
    h.session.send({ type: 'session.update', config: { model: 'loopback/echo', turn_detection: { type: 'none' } }, changed: ['turn_detection'] });
    jest.advanceTimersByTime(10_000);
    expect(types(h.events)).toEqual(['speech.started', 'speech.stopped']);
    h.session.send({ type: 'audio.commit' });
    jest.runAllTimers();
    expect(Buffer.concat(audioDeltas(h.events)).equals(audio)).toBe(true);
    h.session.close();
  });
});

describe('pause / resume', () => {
  it('holds every event while paused and delivers them in order on resume', async () => {
    const reference = await openLoopback({ input_transcription: true, output_transcription: true });
    const h = await openLoopback({ input_transcription: true, output_transcription: true });
    const script = (s: UpstreamSession) => {
      append(s, pcm(12_000));
      s.send({ type: 'audio.commit' });
      s.send({ type: 'audio.commit' });
      s.send({ type: 'text.input', text: 'hi' });
      s.send({ type: 'response.create' });
    };
    script(reference.session);
    await until(completedCount(reference, 2));

    h.session.pause();
    script(h.session);
    await idle(100);
    expect(h.events).toEqual([]);
    h.session.resume();
    // The held events come out synchronously; production then continues.
    expect(h.events.length).toBeGreaterThan(0);
    await until(completedCount(h, 2));
    expect(h.events).toEqual(reference.events);
    reference.session.close();
    h.session.close();
  });

  it('pausing mid-echo stops production; resuming continues byte-exact', async () => {
    const h = await openLoopback();
    const sent = pcm(2 * BYTES_PER_SECOND + 2);
    append(h.session, sent);
    h.session.send({ type: 'audio.commit' });
    await until(() => count(h.events, 'audio.delta') >= 2);
    h.session.pause();
    const atPause = h.events.length;
    await idle(100);
    expect(h.events.length).toBe(atPause);
    h.session.resume();
    await until(completedCount(h, 1));
    expect(Buffer.concat(audioDeltas(h.events)).equals(sent)).toBe(true);
    expect(h.events.at(-1)).toEqual({ type: 'response.completed' });
    h.session.close();
  });

  it('a cancel while paused drops the rest of the echo', async () => {
    const h = await openLoopback();
    append(h.session, pcm(2 * BYTES_PER_SECOND));
    h.session.send({ type: 'audio.commit' });
    await until(() => count(h.events, 'audio.delta') >= 1);
    h.session.pause();
    const deltasAtPause = count(h.events, 'audio.delta');
    h.session.send({ type: 'response.cancel' });
    h.session.resume();
    await idle(100);
    expect(count(h.events, 'audio.delta')).toBe(deltasAtPause);
    expect(h.events.at(-1)).toEqual({ type: 'response.completed' });
    h.session.close();
  });

  it('a handler that pauses again mid-flush stops the flush there, order intact', async () => {
    let pauseOn: string | undefined = 'transcript.committed';
    const h = await openLoopback({ input_transcription: true }, (event, harness) => {
      if (event.type === pauseOn) {
        pauseOn = undefined;
        harness.session.pause();
      }
    });
    h.session.pause();
    append(h.session, pcm(4800));
    h.session.send({ type: 'audio.commit' });
    h.session.resume();
    expect(types(h.events)).toEqual(['transcript.committed']);
    h.session.resume();
    await until(completedCount(h, 1));
    expect(types(h.events)).toEqual(['transcript.committed', 'response.started', 'audio.delta', 'response.completed']);
    h.session.close();
  });

  it('resume without pause does nothing', async () => {
    const h = await openLoopback();
    h.session.resume();
    expect(h.events).toEqual([]);
    h.session.close();
  });
});

describe('close', () => {
  function activeTimers(): number {
    return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout' || kind === 'Immediate').length;
  }

  it('mid-echo with a silence timer pending: nothing more is emitted and onEnd is never called', async () => {
    const h = await openLoopback({ turn_detection: { type: 'server_vad', silence_duration_ms: 30 } });
    append(h.session, pcm(5 * BYTES_PER_SECOND));
    h.session.send({ type: 'audio.commit' });
    await until(() => count(h.events, 'audio.delta') >= 2);
    append(h.session, pcm(960)); // arms the silence timer again
    h.session.pause();
    h.session.send({ type: 'text.input', text: 'held' });
    h.session.send({ type: 'audio.commit' }); // held: speech.stopped; its response queues behind the echo
    const atClose = h.events.length;
    h.session.close();
    h.session.close(); // idempotent
    h.session.resume();
    h.session.send({ type: 'response.create' });
    append(h.session, pcm(960));
    await new Promise((resolve) => setTimeout(resolve, 60));
    await idle(100);
    expect(h.events.length).toBe(atClose);
    expect(h.ends).toEqual([]);
  });

  it('leaves no pending timer or immediate (fake timers)', async () => {
    jest.useFakeTimers();
    const h = await openLoopback({ turn_detection: { type: 'server_vad' } });
    append(h.session, pcm(5 * BYTES_PER_SECOND));
    h.session.send({ type: 'audio.commit' });
    jest.advanceTimersByTime(0);
    append(h.session, pcm(960));
    expect(jest.getTimerCount()).toBeGreaterThan(0);
    h.session.close();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('leaves no pending timer or immediate (real timers)', async () => {
    await idle(5);
    const baseline = activeTimers();
    const h = await openLoopback({ turn_detection: { type: 'server_vad', silence_duration_ms: 10_000 } });
    append(h.session, pcm(5 * BYTES_PER_SECOND));
    h.session.send({ type: 'audio.commit' });
    append(h.session, pcm(960));
    expect(activeTimers()).toBeGreaterThan(baseline);
    h.session.close();
    expect(activeTimers()).toBe(baseline);
  });

  it('a handler that closes the session stops everything at once', async () => {
    const h = await openLoopback({ output_transcription: true }, (event, harness) => {
      if (event.type === 'text.delta') harness.session.close();
    });
    append(h.session, pcm(BYTES_PER_SECOND));
    h.session.send({ type: 'audio.commit' });
    await idle(100);
    expect(types(h.events)).toEqual(['response.started', 'text.delta']);
    expect(h.ends).toEqual([]);
  });
});
