// The demo page in a real browser (Debian's Chromium, driven by playwright-core), against the
// standalone server started as `npm start` starts it. Chromium's fake microphone plays the real
// speech fixture. Shows: the subprotocol ticket handshake as the browser sees it, speech going out
// and the loopback echo coming back and being rendered (checked on the samples), a replayed ticket
// refused and reported, the `?ticket=` fallback, and a model bound by the ticket that the page
// cannot switch.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import {
  bestLag,
  bytesToFloat32,
  bytesToInt16,
  envelope,
  int16ToFloat,
  readWav,
  resample,
  rms,
  type Pcm,
} from './audio-analysis.js';
import {
  chromiumAvailable,
  DEMO_API_KEY,
  holdToTalk,
  launchChromium,
  openDemo,
  snapshot,
  SPEECH_WAV,
  startDemoServer,
  waitForServerEvent,
  type DemoPage,
  type DemoServer,
} from './browser-harness.js';

const MARKER = 'opper-realtime.v1';
const TEST_TIMEOUT = 60_000;
const describeBrowser = chromiumAvailable() ? describe : describe.skip;

describeBrowser('demo page in Chromium (loopback/echo)', () => {
  let browser: Browser;
  let server: DemoServer;
  const pages: DemoPage[] = [];

  beforeAll(async () => {
    server = await startDemoServer();
    browser = await launchChromium();
  }, TEST_TIMEOUT);

  // One page at a time: each test's page (its socket, microphone and audio context) goes away after it.
  afterEach(async () => {
    for (const p of pages.splice(0)) await p.close().catch(() => {});
  });

  afterAll(async () => {
    for (const p of pages.splice(0)) await p.close().catch(() => {});
    await browser?.close();
    await server?.close();
  });

  async function open(query: Record<string, string> = {}): Promise<DemoPage> {
    const demo = await openDemo(browser, server.baseUrl, query);
    pages.push(demo);
    return demo;
  }

  async function connect(demo: DemoPage): Promise<void> {
    await demo.page.click('#connect');
    await waitForServerEvent(demo.page, 'session.started');
    await expect(demo.page.locator('#status').textContent()).resolves.toBe('Live');
  }

  it('connects with the ticket as a subprotocol: Chromium accepts the 101 and opper-realtime.v1 is selected', async () => {
    const demo = await open();
    const bodies: Array<Promise<string>> = [];
    const urls: string[] = [];
    demo.page.on('response', (res) => {
      urls.push(new URL(res.url()).pathname);
      bodies.push(res.text().catch(() => ''));
    });
    await demo.page.reload(); // so that every response of the page is seen
    await demo.page.waitForFunction(() => (globalThis as any).document.querySelector('#connect').disabled === false);
    await connect(demo);

    expect(demo.handshakes).toHaveLength(1);
    const [handshake] = demo.handshakes;
    // The ticket travelled in Sec-WebSocket-Protocol, next to the marker, and not in the URL.
    expect(new URL(handshake.url).pathname).toBe('/v3/realtime');
    expect(handshake.url).not.toContain('ticket=');
    const offered = handshake.requestHeaders['sec-websocket-protocol'].split(',').map((p) => p.trim());
    expect(offered[0]).toBe(MARKER);
    expect(offered[1]).toMatch(/^opper-ticket\.[A-Za-z0-9_-]{43,}$/);
    // What the browser got back: a real 101 selecting the marker (the secret is not echoed).
    expect(handshake.status).toBe(101);
    expect(handshake.responseHeaders?.['sec-websocket-protocol']).toBe(MARKER);
    await expect(demo.page.evaluate(() => (globalThis as any).realtimeDemo.protocol)).resolves.toBe(MARKER);
    await expect(demo.page.locator('#protocol').textContent()).resolves.toBe(MARKER);

    // The first frame was session.start; the session runs on the ticket's model.
    expect(demo.sent[0]).toMatchObject({ type: 'session.start', config: { model: 'loopback/echo' } });
    expect(server.sessions.at(-1)).toMatchObject({ model: 'loopback/echo', credential: 'ticket', projectId: 'browser-tests' });
    // The page never saw the server's API key.
    const seen = await Promise.all(bodies);
    expect(urls).toEqual(expect.arrayContaining(['/', '/demo/assets/demo.js', '/demo/models', '/demo/ticket']));
    expect(seen.join('\n')).toContain('client_secret');
    expect(seen.join('\n')).not.toContain(DEMO_API_KEY);
    expect(demo.pageErrors).toEqual([]);
  }, TEST_TIMEOUT);

  it('sends the spoken fixture from the microphone and plays the loopback echo back (checked on the rendered samples)', async () => {
    const demo = await open();
    await connect(demo);
    await holdToTalk(demo.page, 1500);
    await waitForServerEvent(demo.page, 'response.completed');
    // Let the scheduled echo finish rendering (it is about as long as what was sent).
    await demo.page.waitForFunction(() => (globalThis as any).realtimeDemo.recorder.played.length > 0);
    await demo.page.waitForTimeout(2500);
    const snap = await snapshot(demo.page);
    if (process.env.BROWSER_TEST_DUMP) writeFileSync(process.env.BROWSER_TEST_DUMP, JSON.stringify(snap));

    // 1. What went out is the fixture's speech, resampled to the session's input rate.
    expect(snap.inputRate).toBe(24000);
    const sentPcm = bytesToInt16(Buffer.from(snap.sent, 'base64'));
    const sent: Pcm = { sampleRate: snap.inputRate, samples: int16ToFloat(sentPcm) };
    const seconds = sent.samples.length / sent.sampleRate;
    expect(seconds).toBeGreaterThan(1.2);
    expect(seconds).toBeLessThan(3);
    expect(rms(sent.samples)).toBeGreaterThan(0.01);
    const fixture = readWav(readFileSync(SPEECH_WAV));
    const fixtureEnv = envelope(fixture);
    const sentEnv = envelope(sent);
    // The fake microphone loops the file, so the first fixture-length stretch of what was sent is a
    // rotation of the fixture: find it in two back-to-back copies of the fixture's envelope.
    const twoLoops = Float64Array.from([...fixtureEnv, ...fixtureEnv]);
    const loop = bestLag(sentEnv.subarray(0, fixtureEnv.length), twoLoops);
    expect(loop.r).toBeGreaterThan(0.8);

    // 2. The loopback echo came back byte for byte.
    const received = bytesToInt16(Buffer.from(snap.received, 'base64'));
    expect(Buffer.from(received.buffer).equals(Buffer.from(sentPcm.buffer))).toBe(true);
    const deltas = demo.received.filter((e) => e.type === 'audio.delta');
    expect(deltas.length).toBeGreaterThan(5);

    // 3. And it was rendered: the samples that went through the output tap to the speakers are the
    // sent speech (same envelope, same level, same waveform once resampled), not silence or noise.
    const played: Pcm = { sampleRate: snap.playedRate, samples: bytesToFloat32(Buffer.from(snap.played, 'base64')) };
    expect(played.sampleRate).toBe(snap.contextRate);
    const playedEnv = envelope(played);
    const aligned = bestLag(sentEnv, playedEnv);
    expect(aligned.r).toBeGreaterThan(0.95);
    const windowSamples = Math.round(played.sampleRate / 100);
    const start = aligned.lag * windowSamples;
    const sentAtPlayedRate = resample(sent, played.sampleRate);
    const playedRms = rms(played.samples, start, start + sentAtPlayedRate.samples.length);
    expect(playedRms / rms(sent.samples)).toBeGreaterThan(0.8);
    expect(playedRms / rms(sent.samples)).toBeLessThan(1.25);
    const waveform = bestLag(sentAtPlayedRate.samples, played.samples, start - windowSamples, start + windowSamples);
    expect(waveform.r).toBeGreaterThan(0.9);
    // Gapless: the echo's windows are all there, back to back (no dropped or silent chunk).
    let silentWindows = 0;
    for (let w = 0; w < sentEnv.length; w++) {
      if (sentEnv[w] > 0.01 && playedEnv[aligned.lag + w] < sentEnv[w] * 0.25) silentWindows++;
    }
    expect(silentWindows).toBe(0);

    // The conversation shows the turn and the echo.
    await expect(demo.page.locator('#conversation li.assistant').first().textContent()).resolves.toMatch(/echo: \d+ ms of audio/);
    expect(demo.pageErrors).toEqual([]);
    console.log(
      `browser echo: sent ${seconds.toFixed(2)} s; fixture loop r=${loop.r.toFixed(3)}; played envelope r=${aligned.r.toFixed(3)}, waveform r=${waveform.r.toFixed(3)}, level ratio ${(playedRms / rms(sent.samples)).toFixed(3)} at ${played.sampleRate} Hz`,
    );
  }, TEST_TIMEOUT);

  it('a replayed ticket is refused and the page says so', async () => {
    const demo = await open();
    await connect(demo);
    await demo.page.click('#hangup');
    await demo.page.waitForFunction(() => (globalThis as any).document.querySelector('#status').textContent === 'Not connected');
    await expect(demo.page.locator('#replay').isEnabled()).resolves.toBe(true);

    await demo.page.click('#breakIt summary');
    await demo.page.click('#replay');
    await demo.page.waitForFunction(() => (globalThis as any).realtimeDemo.recorder.closes.length === 2);

    const banner = demo.page.locator('#banner');
    await expect(banner.isVisible()).resolves.toBe(true);
    await expect(banner.textContent()).resolves.toContain('Ticket refused or expired');
    await expect(demo.page.locator('#status').textContent()).resolves.toBe('Ticket refused');
    const closes = await demo.page.evaluate(() => (globalThis as any).realtimeDemo.recorder.closes);
    expect(closes[1]).toEqual({ code: 1006, opened: false });
    // The same secret was offered twice; the second upgrade got the 401, never a 101.
    const [first, second] = demo.handshakes;
    expect(second.requestHeaders['sec-websocket-protocol']).toBe(first.requestHeaders['sec-websocket-protocol']);
    expect(first.status).toBe(101);
    // No 101 for the replay: Chromium reports the server's 401 as an authentication failure.
    expect(second.status).toBeUndefined();
    expect(second.error).toMatch(/HTTP Authentication failed/);
    expect(server.sessions.filter((s) => s.sessionId === demo.received[0]?.session_id)).toHaveLength(1);
    expect(demo.pageErrors).toEqual([]);
  }, TEST_TIMEOUT);

  it('?ticket= mode works too', async () => {
    const demo = await open({ transport: 'query' });
    await expect(demo.page.locator('#queryTicket').isChecked()).resolves.toBe(true);
    await connect(demo);
    const [handshake] = demo.handshakes;
    const url = new URL(handshake.url);
    expect(url.pathname).toBe('/v3/realtime');
    expect(url.searchParams.get('ticket')).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    // Only the marker is offered (no ticket subprotocol), and it is what the 101 selects.
    expect(handshake.requestHeaders['sec-websocket-protocol']).toBe(MARKER);
    expect(handshake.status).toBe(101);
    expect(handshake.responseHeaders?.['sec-websocket-protocol']).toBe(MARKER);

    // A round trip on the session: typed text comes back from the echo model.
    await demo.page.fill('#text', 'hello over a query-string ticket');
    await demo.page.click('#send');
    await waitForServerEvent(demo.page, 'text.delta');
    await expect(demo.page.locator('#conversation li.assistant').last().textContent()).resolves.toContain('hello over a query-string ticket');
    expect(demo.pageErrors).toEqual([]);
  }, TEST_TIMEOUT);

  it('a ticket bound to loopback/echo cannot be switched to another model from the page', async () => {
    const demo = await open({ start_model: 'openai/gpt-realtime-2' });
    const before = server.sessions.length;
    await connect(demo);
    // The page really asked for another model…
    expect(demo.sent[0]).toMatchObject({ type: 'session.start', config: { model: 'openai/gpt-realtime-2' } });
    // …got field_locked for it, and shows it…
    const locked = demo.received.filter((e) => e.type === 'error');
    expect(locked).toEqual([{ type: 'error', error: { code: 'field_locked', message: expect.stringContaining('config.model') } }]);
    await expect(demo.page.locator('#conversation li.notice').first().textContent({ timeout: 5000 })).resolves.toContain('field_locked');
    // …while the session runs on the bound model (the server's record, and the echo only it gives).
    expect(server.sessions.slice(before).map((s) => s.model)).toEqual(['loopback/echo']);
    await demo.page.fill('#text', 'still the echo model');
    await demo.page.click('#send');
    await waitForServerEvent(demo.page, 'text.delta');
    expect(demo.received.find((e) => e.type === 'text.delta')).toEqual({ type: 'text.delta', delta: 'still the echo model' });
    expect(demo.pageErrors).toEqual([]);
  }, TEST_TIMEOUT);

  it('mid-conversation: voice turn, text, a tool call answered by the page (screenshot)', async () => {
    const demo = await open();
    await connect(demo);
    await holdToTalk(demo.page, 1400);
    await waitForServerEvent(demo.page, 'response.completed');
    await demo.page.fill('#text', 'Hello! Can you hear me?');
    await demo.page.click('#send');
    await demo.page.waitForFunction(() => (globalThis as any).realtimeDemo.recorder.events.filter((e: any) => e.type === 'text.delta').length >= 2);
    await demo.page.fill('#text', 'call get_time {}');
    await demo.page.click('#send');
    await waitForServerEvent(demo.page, 'tool.call');
    // The page answers the tool call; the model (here: the echo) continues with the result.
    await demo.page.waitForFunction(() => (globalThis as any).realtimeDemo.recorder.events.filter((e: any) => e.type === 'text.delta').length >= 3);
    const call = demo.received.find((e) => e.type === 'tool.call')!;
    const result = demo.sent.find((e) => e.type === 'tool.result')!;
    expect(result).toMatchObject({ tool_call_id: call.tool_call_id, tool_result: { time: expect.any(String) } });
    await expect(demo.page.locator('#conversation li.tool').textContent()).resolves.toContain('get_time({})');
    await holdToTalk(demo.page, 1200);
    await demo.page.waitForFunction(() => (globalThis as any).realtimeDemo.recorder.events.filter((e: any) => e.type === 'response.completed').length >= 4);
    await demo.page.waitForTimeout(700); // mid-echo: the output meter is moving
    const png = await demo.page.screenshot();
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    if (process.env.UPDATE_DEMO_SCREENSHOT === '1') {
      const target = fileURLToPath(new URL('../../docs/demo.png', import.meta.url));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, png);
    }
    expect(demo.pageErrors).toEqual([]);
  }, TEST_TIMEOUT);
});

describe('REALTIME_DEMO=false', () => {
  let server: DemoServer;
  beforeAll(async () => {
    server = await startDemoServer({ REALTIME_DEMO: 'false' });
  });
  afterAll(() => server?.close());

  it('serves neither the page nor the ticket route', async () => {
    for (const [method, path] of [['GET', '/'], ['GET', '/demo/assets/demo.js'], ['GET', '/demo/models'], ['POST', '/demo/ticket']]) {
      const res = await fetch(server.baseUrl + path, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
    // The gateway itself is unaffected.
    const minted = await fetch(`${server.baseUrl}/v3/realtime-sessions`, { method: 'POST', headers: { authorization: `Bearer ${DEMO_API_KEY}` } });
    expect(minted.status).toBe(200);
  });
});

describe('demo backend routes (REALTIME_DEMO on, the default)', () => {
  let server: DemoServer;
  beforeAll(async () => {
    server = await startDemoServer();
  });
  afterAll(() => server?.close());

  it('lists only models whose provider is configured, and mints tickets bound to one of them', async () => {
    const models = (await (await fetch(`${server.baseUrl}/demo/models`)).json()) as { default: string; models: Array<{ id: string }> };
    expect(models.default).toBe('loopback/echo');
    expect(models.models.map((m) => m.id)).toEqual(['loopback/echo']);

    const res = await fetch(`${server.baseUrl}/demo/ticket`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
    const ticket = await res.json();
    expect(ticket).toMatchObject({ client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43,}$/), ws_path: '/v3/realtime', bound: { model: 'loopback/echo' } });
    expect(JSON.stringify(ticket)).not.toContain(DEMO_API_KEY);

    const refused = await fetch(`${server.baseUrl}/demo/ticket`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'openai/gpt-realtime-2' }) });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('invalid_field');
  });

  it('serves only the listed assets, with a restrictive CSP on the page', async () => {
    const page = await fetch(`${server.baseUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('/demo/assets/demo.js');
    for (const name of ['demo.js', 'capture-worklet.js', 'output-tap-worklet.js']) {
      const res = await fetch(`${server.baseUrl}/demo/assets/${name}`);
      expect({ name, status: res.status, type: res.headers.get('content-type') }).toEqual({ name, status: 200, type: 'text/javascript; charset=utf-8' });
    }
    for (const name of ['..%2Fpackage.json', 'index.ts', 'constructor']) {
      expect((await fetch(`${server.baseUrl}/demo/assets/${name}`)).status).toBe(404);
    }
  });
});
