// The relay benchmark's upstream: a minimal OpenAI Realtime (GA) speaker in its own process. It
// sends `session.created` on connect, answers `session.update` with `session.updated`, and turns
// every `input_audio_buffer.append` into a `response.output_audio.delta` carrying the same audio,
// at once. The audio path is byte-level (no JSON parse, no re-serialisation) so the upstream costs
// as little as possible and the same for every variant (direct, pass-through, gateway).
// `connectDelayMs` answers every upgrade that much later: a provider's connect time (the warm-pool
// scenario, bench/warm-pool.ts).
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { childConfig, sendReady, serveCommands } from './lib/ipc.js';

const APPEND_PREFIX = Buffer.from('{"type":"input_audio_buffer.append"', 'latin1');
const AUDIO_KEY = Buffer.from('"audio":"', 'latin1');
const QUOTE = 0x22;
const DELTA_PREFIX = Buffer.from(
  '{"type":"response.output_audio.delta","event_id":"event_bench","response_id":"resp_bench","item_id":"item_bench","output_index":0,"content_index":0,"delta":"',
  'latin1',
);
const DELTA_SUFFIX = Buffer.from('"}', 'latin1');

interface EchoConfig {
  port?: number;
  /** Answer each upgrade this many ms late. Default 0. */
  connectDelayMs?: number;
}

const config = childConfig<EchoConfig>();
let sessionCounter = 0;
let appends = 0;

const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });

server.on('upgrade', (req, socket, head) => {
  if (!req.url?.startsWith('/v1/realtime')) {
    socket.destroy();
    return;
  }
  const answer = () => {
    if (!socket.destroyed) wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
  };
  if (config.connectDelayMs) setTimeout(answer, config.connectDelayMs);
  else answer();
});

function onConnection(ws: WebSocket): void {
  const id = `sess_bench${(sessionCounter += 1)}`;
  let session: Record<string, unknown> = { type: 'realtime', object: 'realtime.session', id, model: 'gpt-realtime-2', output_modalities: ['audio'] };
  ws.send(JSON.stringify({ type: 'session.created', event_id: `event_c${sessionCounter}`, session }));
  ws.on('error', () => undefined);
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary && data.length > APPEND_PREFIX.length && data.compare(APPEND_PREFIX, 0, APPEND_PREFIX.length, 0, APPEND_PREFIX.length) === 0) {
      const at = data.indexOf(AUDIO_KEY, APPEND_PREFIX.length);
      const start = at + AUDIO_KEY.length;
      const end = at < 0 ? -1 : data.indexOf(QUOTE, start);
      if (end > start) {
        appends += 1;
        ws.send(Buffer.concat([DELTA_PREFIX, data.subarray(start, end), DELTA_SUFFIX]), { binary: false });
        return;
      }
    }
    let event: { type?: string; session?: Record<string, unknown> };
    try {
      event = JSON.parse(data.toString('utf8'));
    } catch {
      ws.send(JSON.stringify({ type: 'error', event_id: 'event_err', error: { type: 'invalid_request_error', code: 'invalid_json', message: 'bad JSON' } }));
      return;
    }
    if (event.type === 'session.update') {
      session = { ...session, ...(event.session ?? {}) };
      ws.send(JSON.stringify({ type: 'session.updated', event_id: 'event_u', session }));
    }
    // Anything else (commit, clear, response.create…) is accepted silently: this upstream only echoes.
  });
}

serveCommands(
  {
    counters: () => ({ appends, sessions: sessionCounter, open: wss.clients.size }),
  },
  () => new Promise<void>((resolve) => server.close(() => resolve())),
);

server.listen(config.port ?? 0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  sendReady({ port: address.port });
});
