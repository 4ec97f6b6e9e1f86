// The harness of the browser tests: Debian's Chromium through playwright-core with a fake
// microphone that plays the real speech fixture, and the standalone server started the way
// `npm start` starts it (createStandaloneApp + listen), on a free port.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { INestApplication } from '@nestjs/common';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { SessionEventsHook, type SessionStartedEvent } from '../../src/gateway/session-events.js';
import { createStandaloneApp } from '../../src/standalone/create-app.js';
import { loadStandaloneConfig } from '../../src/standalone/env-config.js';
import { RecordingSessionEvents } from '../helpers/fakes.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SPEECH_WAV = fileURLToPath(new URL('../fixtures/audio/hello_world.24k.wav', import.meta.url));

/** docs/toolchain.md's flags, plus Chromium's fake capture device fed with the speech fixture (looped). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  `--use-file-for-fake-audio-capture=${SPEECH_WAV}`,
];

/**
 * Whether the browser tests can run here. In CI a missing Chromium is a failure (`.ci/run`
 * installs it), never a silent skip; on a developer machine without it they are skipped loudly.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (process.env.CI === 'true') throw new Error(`Chromium not found at ${CHROMIUM_PATH} (CI must install it: apt-get install -y chromium)`);
  console.warn(`Skipping the browser tests: no Chromium at ${CHROMIUM_PATH}`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

export const DEMO_API_KEY = 'rtk-browser-tests-key-0123456789';

export interface DemoServer {
  app: INestApplication;
  baseUrl: string;
  /** Every session the gateway started (from its SessionEventsHook): the server's view of the model. */
  sessions: SessionStartedEvent[];
  close(): Promise<void>;
}


/** The standalone server, configured from `env` exactly as `npm start` would be. */
export async function startDemoServer(env: NodeJS.ProcessEnv = {}): Promise<DemoServer> {
  const config = loadStandaloneConfig({ REALTIME_API_KEYS: `browser-tests:${DEMO_API_KEY}`, ...env });
  const events = new RecordingSessionEvents();
  config.options.sessionEvents = events;
  const app = await createStandaloneApp(config, { logger: false });
  try {
    await app.listen(0, '127.0.0.1');
  } catch (err) {
    await app.close();
    throw err;
  }
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, baseUrl: `http://127.0.0.1:${port}`, sessions: events.started, close: () => app.close() };
}

export interface Handshake {
  url: string;
  requestHeaders: Record<string, string>;
  status?: number;
  responseHeaders?: Record<string, string>;
  /** Chromium's reason when the handshake failed (e.g. its message for a 401). */
  error?: string;
}

export interface DemoPage {
  context: BrowserContext;
  page: Page;
  /** WebSocket handshakes as Chromium's network stack saw them (DevTools protocol). */
  handshakes: Handshake[];
  /** Text frames the page sent / received, parsed. */
  sent: Array<Record<string, any>>;
  received: Array<Record<string, any>>;
  /** Uncaught page errors (a test fails on any). */
  pageErrors: string[];
  close(): Promise<void>;
}

function lowerKeys(headers: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Opens the demo page (with `?test=1` and `query`) in a fresh context. */
export async function openDemo(browser: Browser, baseUrl: string, query: Record<string, string> = {}): Promise<DemoPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
  const page = await context.newPage();
  const handshakes = new Map<string, Handshake>();
  const sent: Array<Record<string, any>> = [];
  const received: Array<Record<string, any>> = [];
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketCreated', (e) => handshakes.set(e.requestId, { url: e.url, requestHeaders: {} }));
  cdp.on('Network.webSocketWillSendHandshakeRequest', (e) => {
    const entry = handshakes.get(e.requestId);
    if (entry) entry.requestHeaders = lowerKeys(e.request.headers);
  });
  cdp.on('Network.webSocketHandshakeResponseReceived', (e) => {
    const entry = handshakes.get(e.requestId);
    if (entry) {
      entry.status = e.response.status;
      entry.responseHeaders = lowerKeys(e.response.headers);
    }
  });
  cdp.on('Network.webSocketFrameError', (e) => {
    const entry = handshakes.get(e.requestId);
    if (entry) entry.error = e.errorMessage;
  });
  page.on('websocket', (ws) => {
    const parse = (payload: string | Buffer) => {
      try {
        return JSON.parse(payload.toString());
      } catch {
        return { unparsed: payload.toString() };
      }
    };
    ws.on('framesent', (frame) => sent.push(parse(frame.payload)));
    ws.on('framereceived', (frame) => received.push(parse(frame.payload)));
  });
  const url = new URL('/', baseUrl);
  url.searchParams.set('test', '1');
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  await page.goto(url.toString());
  await page.waitForFunction(() => (globalThis as any).document.querySelector('#connect').disabled === false);
  return {
    context,
    page,
    get handshakes() {
      return [...handshakes.values()];
    },
    sent,
    received,
    pageErrors,
    close: () => context.close(),
  };
}

/** Waits until the page has received a server event of `type` (from its own event record). */
export async function waitForServerEvent(page: Page, type: string, timeout = 10_000): Promise<void> {
  await page.waitForFunction((t) => (globalThis as any).realtimeDemo.recorder.events.some((e: { type: string }) => e.type === t), type, { timeout });
}

/** Holds the push-to-talk button for `ms`, like a user. */
export async function holdToTalk(page: Page, ms: number): Promise<void> {
  await page.locator('#talk').hover();
  await page.mouse.down();
  await page.waitForTimeout(ms);
  await page.mouse.up();
}

export interface AudioSnapshot {
  sent: string;
  received: string;
  played: string;
  playedRate: number;
  contextRate: number;
  inputRate: number;
  outputRate: number;
}

export function snapshot(page: Page): Promise<AudioSnapshot> {
  return page.evaluate(() => (globalThis as any).realtimeDemo.snapshot());
}
