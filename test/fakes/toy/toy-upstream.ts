// The toy provider's upstream: a WebSocket server on a free port that speaks the toy wire. It
// answers `hello` with `ready`, replies to `say` + `go` with the text upper-cased (or a tool call
// for `call <name>`), echoes committed audio, and records everything it received.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ToyMessage } from './toy.provider.js';

export interface ToyConnection {
  url: string;
  authorization: string | undefined;
  received: ToyMessage[];
  socket: WebSocket;
}

export class ToyUpstream {
  readonly connections: ToyConnection[] = [];

  private constructor(
    private readonly server: WebSocketServer,
    readonly httpUrl: string,
  ) {
    server.on('connection', (socket, request) => {
      const connection: ToyConnection = { url: request.url ?? '', authorization: request.headers.authorization, received: [], socket };
      this.connections.push(connection);
      let said = '';
      let audio: Buffer[] = [];
      const send = (message: ToyMessage) => socket.send(JSON.stringify(message));
      socket.on('message', (data) => {
        const message = JSON.parse(data.toString()) as ToyMessage;
        connection.received.push(message);
        if (message.op === 'hello') send({ op: 'ready' });
        else if (message.op === 'say') said = String(message.text);
        else if (message.op === 'audio') audio.push(Buffer.from(String(message.pcm), 'base64'));
        else if (message.op === 'commit') {
          const pcm = Buffer.concat(audio);
          audio = [];
          send({ op: 'start' });
          send({ op: 'audio', pcm: pcm.toString('base64') });
          send({ op: 'end' });
        } else if (message.op === 'go') {
          send({ op: 'start' });
          const call = /^call (\S+)$/.exec(said);
          if (call) send({ op: 'call', id: `toy_${this.connections.length}`, name: call[1] });
          else send({ op: 'text', text: said.toUpperCase() });
          send({ op: 'end' });
        } else if (message.op === 'result') {
          send({ op: 'start' });
          send({ op: 'text', text: `result ${JSON.stringify(message.value)}` });
          send({ op: 'end' });
        }
      });
    });
  }

  static async start(): Promise<ToyUpstream> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
    return new ToyUpstream(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }

  get last(): ToyConnection {
    const connection = this.connections.at(-1);
    if (!connection) throw new Error('no toy connection yet');
    return connection;
  }

  async close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
