// Shared by the OpenAI and xAI provider tests: the real-speech fixture, sending it as the client
// would, and a gateway app with one provider plugged in.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RealtimeProvider } from '../../src/index.js';
import type { HttpApp, Platform } from '../helpers/http-app.js';
import { startRealtimeApp } from '../helpers/realtime-app.js';
import { closeAll, openWithTicket, type RealtimeTestClient } from '../helpers/ws-client.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface Wav {
  rate: number;
  channels: number;
  bits: number;
  /** The `data` chunk: PCM16 LE. */
  pcm: Buffer;
}

/** Parses a RIFF/WAVE file's `fmt ` and `data` chunks. */
export function readWav(path: string): Wav {
  const file = readFileSync(path);
  if (file.toString('ascii', 0, 4) !== 'RIFF' || file.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path}: not a WAV file`);
  let offset = 12;
  let fmt: Omit<Wav, 'pcm'> | undefined;
  while (offset + 8 <= file.length) {
    const id = file.toString('ascii', offset, offset + 4);
    const size = file.readUInt32LE(offset + 4);
    const body = file.subarray(offset + 8, offset + 8 + size);
    if (id === 'fmt ') {
      if (body.readUInt16LE(0) !== 1) throw new Error(`${path}: not PCM`);
      fmt = { channels: body.readUInt16LE(2), rate: body.readUInt32LE(4), bits: body.readUInt16LE(14) };
    } else if (id === 'data') {
      if (!fmt) throw new Error(`${path}: data before fmt`);
      return { ...fmt, pcm: Buffer.from(body) };
    }
    offset += 8 + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

/** "hello world", real speech, PCM16 mono 24 kHz (livekit/agents, Apache-2.0). */
export function helloWorld(): Wav {
  const wav = readWav(join(here, '../fixtures/audio/hello_world.24k.wav'));
  if (wav.rate !== 24000 || wav.channels !== 1 || wav.bits !== 16) throw new Error('hello_world.24k.wav: expected PCM16 mono 24 kHz');
  return wav;
}

export function silence(ms: number, rate = 24000): Buffer {
  return Buffer.alloc(Math.round((rate * ms) / 1000) * 2);
}

/** Sends `pcm` as `audio.append` frames of `frameMs` (as a browser's audio worklet would). */
export function sendAudio(client: RealtimeTestClient, pcm: Buffer, rate = 24000, frameMs = 100): number {
  const frameBytes = Math.round((rate * frameMs) / 1000) * 2;
  let frames = 0;
  for (let off = 0; off < pcm.length; off += frameBytes) {
    client.send({ type: 'audio.append', audio: pcm.subarray(off, off + frameBytes).toString('base64') });
    frames += 1;
  }
  return frames;
}

/** Decodes and concatenates the `audio.delta` events received so far. */
export function receivedAudio(client: RealtimeTestClient): Buffer {
  return Buffer.concat(client.ofType('audio.delta').map((e) => Buffer.from(String(e.audio), 'base64')));
}

/** The concatenated `text.delta` events received so far. */
export function receivedText(client: RealtimeTestClient): string {
  return client.ofType('text.delta').map((e) => String(e.delta)).join('');
}

export interface GatewayHarness {
  app: HttpApp;
  /** Mints a ticket with `body` and opens a socket with it. */
  open(body?: unknown): Promise<RealtimeTestClient>;
  close(): Promise<void>;
}

export async function startGateway(platform: Platform, provider: RealtimeProvider): Promise<GatewayHarness> {
  const app = await startRealtimeApp(platform, { providers: [provider] });
  const clients: RealtimeTestClient[] = [];
  return {
    app,
    async open(body: unknown = {}) {
      const client = await openWithTicket(app.baseUrl, body);
      clients.push(client);
      return client;
    },
    async close() {
      await closeAll(clients);
      await app.close();
    },
  };
}
