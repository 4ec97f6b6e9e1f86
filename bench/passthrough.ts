// The floor of the relay benchmark: a plain WebSocket pass-through in its own process. For every
// client connection it opens one connection to the upstream (same path and query) and copies
// frames both ways as they are, without parsing, checking or backpressure: what a Node relay on
// `ws` costs before it does anything useful.
import { createServer } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import { childConfig, sendReady, serveCommands } from './lib/ipc.js';

interface PassthroughConfig {
  /** `ws://127.0.0.1:<port>` of the upstream. */
  upstream: string;
}

const config = childConfig<PassthroughConfig>();
const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });

wss.on('connection', (client, req) => {
  const upstream = new WebSocket(config.upstream + (req.url ?? '/'), {
    headers: req.headers.authorization ? { Authorization: req.headers.authorization } : {},
    perMessageDeflate: false,
    maxPayload: 32 * 1024 * 1024,
  });
  const early: Array<[Buffer, boolean]> = [];
  client.on('message', (data: Buffer, isBinary: boolean) => {
    if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary: isBinary });
    else early.push([data, isBinary]);
  });
  upstream.on('open', () => {
    for (const [data, isBinary] of early) upstream.send(data, { binary: isBinary });
    early.length = 0;
  });
  upstream.on('message', (data: Buffer, isBinary: boolean) => {
    if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
  });
  const closeBoth = () => {
    if (client.readyState === WebSocket.OPEN) client.close(1000);
    if (upstream.readyState === WebSocket.OPEN || upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
  };
  client.on('close', closeBoth);
  upstream.on('close', closeBoth);
  client.on('error', () => undefined);
  upstream.on('error', () => undefined);
});

serveCommands({}, () => new Promise<void>((resolve) => server.close(() => resolve())));

server.listen(0, '127.0.0.1', () => {
  sendReady({ port: (server.address() as { port: number }).port });
});
