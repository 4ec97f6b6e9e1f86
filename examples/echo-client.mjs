// A minimal client of the gateway, the way a browser talks to it: mint a ticket with the backend's
// API key, open /v3/realtime with the `opper-ticket.<secret>` subprotocol, start a session on
// `loopback/echo`, send real speech, commit, and check the same audio comes back.
//
//   REALTIME_API_KEY=<key printed by `npm start`> node examples/echo-client.mjs [http://localhost:8080]
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const baseUrl = (process.argv[2] ?? process.env.REALTIME_URL ?? 'http://localhost:8080').replace(/\/$/, '');
const apiKey = process.env.REALTIME_API_KEY;
if (!apiKey) {
  console.error('Set REALTIME_API_KEY (the dev key `npm start` prints, or one of REALTIME_API_KEYS).');
  process.exit(2);
}

// 1. The backend mints a ticket bound to the echo model.
const minted = await fetch(`${baseUrl}/v3/realtime-sessions`, {
  method: 'POST',
  headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
  body: JSON.stringify({ config: { model: 'loopback/echo' }, ttl_seconds: 60 }),
});
const ticket = await minted.json();
if (minted.status !== 200) {
  console.error('mint failed:', minted.status, ticket);
  process.exit(1);
}
console.log(`minted a ticket, expires at ${ticket.expires_at}`);

// 2. Real speech: PCM16 LE mono 24 kHz from the WAV's data chunk.
const pcm = wavData(readFileSync(new URL('../test/fixtures/audio/hello_world.24k.wav', import.meta.url)));

// 3. The "browser": the ticket travels as a subprotocol, next to the marker protocol.
const wsUrl = `${baseUrl.replace(/^http/, 'ws')}/v3/realtime`;
const ws = new WebSocket(wsUrl, ['opper-realtime.v1', `opper-ticket.${ticket.client_secret}`]);
const echoed = [];
ws.on('unexpected-response', (_req, res) => {
  console.error('upgrade refused with HTTP', res.statusCode);
  process.exit(1);
});
ws.on('open', () => ws.send(JSON.stringify({ type: 'session.start', config: {} })));
ws.on('message', (data) => {
  const event = JSON.parse(data.toString());
  if (event.type !== 'audio.delta') console.log('<-', event.type, event.error ?? event.delta ?? event.session_id ?? '');
  if (event.type === 'session.started') {
    for (let offset = 0; offset < pcm.length; offset += 4800) {
      ws.send(JSON.stringify({ type: 'audio.append', audio: pcm.subarray(offset, offset + 4800).toString('base64') }));
    }
    ws.send(JSON.stringify({ type: 'audio.commit' }));
  }
  if (event.type === 'audio.delta') echoed.push(Buffer.from(event.audio, 'base64'));
  if (event.type === 'response.completed') ws.close(1000);
});
ws.on('close', (code) => {
  const back = Buffer.concat(echoed);
  const same = back.equals(pcm);
  console.log(`closed (${code}); sent ${pcm.length} bytes of speech, got ${back.length} back: ${same ? 'identical' : 'DIFFERENT'}`);
  process.exit(same ? 0 : 1);
});

function wavData(wav) {
  let offset = 12;
  while (offset + 8 <= wav.length) {
    const id = wav.toString('ascii', offset, offset + 4);
    const size = wav.readUInt32LE(offset + 4);
    if (id === 'data') return wav.subarray(offset + 8, offset + 8 + size);
    offset += 8 + size + (size % 2);
  }
  throw new Error('no data chunk in WAV');
}
