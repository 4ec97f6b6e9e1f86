// The upstream core every adapter shares (providers/core/upstream-session.ts), through a minimal
// in-memory adapter: ordered delivery across pause/resume (including a handler that pauses again
// mid-flush), the whole-sample rule, the end reported once after what was held, a close by the
// gateway that silences everything, readiness with its timeout and abort, and the tool-call tracker.
import { describe, expect, it } from '@jest/globals';
import { CloseCode, ToolCallTracker, UpstreamSessionCore, type NonAudioClientEvent, type ServerEvent, type UpstreamEnd } from '../../src/index.js';

class MemorySession extends UpstreamSessionCore {
  readonly inputSampleRate = 24000;
  readonly outputSampleRate = 24000;
  readonly bufferedAmount = 0;
  readonly appended: Array<[string, number]> = [];
  readonly translated: NonAudioClientEvent[] = [];
  readonly transport: string[] = [];

  protected appendAudio(audio: string, bytes: number): void {
    this.appended.push([audio, bytes]);
  }
  protected translate(event: NonAudioClientEvent): void {
    this.translated.push(event);
  }
  protected pauseTransport(): void {
    this.transport.push('pause');
  }
  protected resumeTransport(): void {
    this.transport.push('resume');
  }
  protected releaseTransport(): void {
    this.transport.push('release');
  }
  // What an adapter calls, opened up for the test.
  produce(event: ServerEvent): void {
    this.emit(event);
  }
  confirm(): void {
    this.markReady();
  }
  end(end: UpstreamEnd): void {
    this.fail(end);
  }
}

function harness(onEvent?: (event: ServerEvent, session: MemorySession) => void) {
  const events: ServerEvent[] = [];
  const ends: UpstreamEnd[] = [];
  const session: MemorySession = new MemorySession({
    onEvent: (event) => {
      events.push(event);
      onEvent?.(event, session);
    },
    onEnd: (end) => ends.push(end),
  });
  return { session, events, ends };
}

const delta = (n: number): ServerEvent => ({ type: 'text.delta', delta: String(n) });
const deltas = (events: ServerEvent[]) => events.flatMap((e) => (e.type === 'text.delta' ? [e.delta] : []));
const END: UpstreamEnd = { code: 'upstream_closed', message: 'bye', closeCode: CloseCode.GoingAway };

describe('UpstreamSessionCore', () => {
  it('holds events while paused and delivers them in order on resume, behind which later ones queue', () => {
    const { session, events } = harness();
    session.confirm();
    session.produce(delta(1));
    session.pause();
    session.produce(delta(2));
    session.produce(delta(3));
    expect(deltas(events)).toEqual(['1']);
    session.resume();
    session.produce(delta(4));
    expect(deltas(events)).toEqual(['1', '2', '3', '4']);
    expect(session.transport).toEqual(['pause', 'resume']);
  });

  it('a handler that pauses mid-flush stops the flush there; the rest waits for the next resume', () => {
    const { session, events } = harness((event, s) => {
      if (event.type === 'text.delta' && event.delta === '2') s.pause();
    });
    session.confirm();
    session.pause();
    for (const n of [1, 2, 3]) session.produce(delta(n));
    session.resume();
    expect(deltas(events)).toEqual(['1', '2']);
    expect(session.transport).toEqual(['pause']); // paused again before the transport resumed
    session.resume();
    expect(deltas(events)).toEqual(['1', '2', '3']);
  });

  it('refuses half a sample with invalid_audio and passes whole samples with their byte count', () => {
    const { session, events } = harness();
    session.confirm();
    session.send({ type: 'audio.append', audio: Buffer.from([1, 2, 3]).toString('base64') });
    session.send({ type: 'audio.append', audio: '' });
    session.send({ type: 'audio.append', audio: Buffer.from([1, 2, 3, 4]).toString('base64') });
    session.send({ type: 'audio.commit' });
    expect(events).toEqual([{ type: 'error', error: { code: 'invalid_audio', message: expect.stringContaining('PCM16') } }]);
    expect(session.appended).toEqual([[Buffer.from([1, 2, 3, 4]).toString('base64'), 4]]);
    expect(session.translated).toEqual([{ type: 'audio.commit' }]);
  });

  it('an end by the upstream delivers what was held, then reports once and releases the transport', () => {
    const { session, events, ends } = harness();
    session.confirm();
    session.pause();
    session.produce(delta(1));
    session.end(END);
    session.end({ ...END, message: 'again' });
    expect(deltas(events)).toEqual(['1']);
    expect(ends).toEqual([END]);
    session.send({ type: 'response.create' });
    session.produce(delta(2));
    session.close();
    expect(session.translated).toEqual([]);
    expect(deltas(events)).toEqual(['1']);
    expect(session.transport.filter((t) => t === 'release')).toHaveLength(1);
  });

  it('a close by the gateway drops held events, reports no end, and ignores everything after', () => {
    const { session, events, ends } = harness();
    session.confirm();
    session.pause();
    session.produce(delta(1));
    session.close();
    session.close();
    session.resume();
    session.end(END);
    session.send({ type: 'response.create' });
    expect(events).toEqual([]);
    expect(ends).toEqual([]);
    expect(session.translated).toEqual([]);
    expect(session.transport).toEqual(['pause', 'release']);
  });

  it('an end before readiness is a refusal of the open, not an onEnd', async () => {
    const { session, ends } = harness();
    const waiting = session.waitUntilReady(1000, new AbortController().signal);
    session.end({ ...END, message: 'Toy refused the session' });
    await expect(waiting).rejects.toThrow('Toy refused the session');
    expect(ends).toEqual([]);
  });

  it('readiness times out, or is abandoned with the signal, closing the session either way', async () => {
    const slow = harness();
    await expect(slow.session.waitUntilReady(20, new AbortController().signal)).rejects.toThrow('did not confirm the session in time');
    expect(slow.session.transport).toEqual(['release']);
    const left = harness();
    const abort = new AbortController();
    const waiting = left.session.waitUntilReady(1000, abort.signal);
    abort.abort();
    await expect(waiting).rejects.toThrow('abandoned before the upstream opened');
    expect(left.session.transport).toEqual(['release']);
    const ready = harness();
    ready.session.confirm();
    await expect(ready.session.waitUntilReady(1000, new AbortController().signal)).resolves.toBeUndefined();
  });
});

describe('ToolCallTracker', () => {
  it('answers an open call once, and says when the provider cancelled one', () => {
    const calls = new ToolCallTracker('Toy');
    calls.opened('a', 'wave');
    calls.opened('b', 'nod');
    expect(calls.pending).toBe(2);
    expect(calls.answer('a')).toEqual({ name: 'wave' });
    expect(calls.answer('a')).toEqual({ error: { type: 'error', error: { code: 'unknown_tool_call', message: 'tool.result: no open tool call with id "a"' } } });
    calls.cancel('b');
    expect(calls.pending).toBe(0);
    expect(calls.answer('b')).toEqual({ error: { type: 'error', error: { code: 'unknown_tool_call', message: 'tool.result: Toy cancelled the tool call "b"' } } });
  });
});
