// A toy provider written the way a `providers/<name>/` folder is: one definition (name, models with
// their capabilities, access, open) and one session on the upstream core. It is passed in the
// `providers` option by test/providers/custom-provider.e2e-spec.ts to show that a provider needs no
// edit outside its folder. Its wire (test/fakes/toy/toy-upstream.ts) is deliberately not OpenAI's.
import type WebSocket from 'ws';
import {
  connectUpstream,
  defineProvider,
  ToolCallTracker,
  toWebSocketBase,
  upstreamModelName,
  WebSocketUpstreamSession,
  type ModelDefinition,
  type NonAudioClientEvent,
  type SessionConfig,
  type UpstreamHandlers,
} from '../../../src/index.js';

/** Toy wire messages, both ways: one JSON object per text frame, `op` says what it is. */
export type ToyMessage = { op: string; [key: string]: unknown };

export const toyProvider = defineProvider({
  name: 'toy',
  label: 'Toy',
  access: { kind: 'api-key', envPrefix: 'TOY', defaultBaseUrl: 'http://127.0.0.1:9' },
  models: [
    {
      id: 'toy/parrot',
      realtime: true,
      inputSampleRate: 16000,
      outputSampleRate: 16000,
      voices: ['polly', 'kea'],
      defaultVoice: 'polly',
      turnDetectionTypes: ['none'],
      honouredFields: ['model', 'voice', 'tools'],
      sessionLimitSeconds: 60,
    },
    { id: 'toy/rock', realtime: false },
  ],
  open: (params, connection) =>
    connectUpstream(
      params,
      {
        url: `${toWebSocketBase(connection.baseUrl)}/toy?model=${encodeURIComponent(upstreamModelName(params.model.id))}`,
        headers: { authorization: `Bearer ${connection.apiKey}` },
        connectTimeoutMs: connection.connectTimeoutMs,
      },
      (ws) => new ToySession(ws, params.handlers, params.config, params.model),
      (session) => session.start(),
    ),
});

class ToySession extends WebSocketUpstreamSession {
  readonly inputSampleRate: number;
  readonly outputSampleRate: number;
  private readonly toolCalls = new ToolCallTracker('Toy');

  constructor(
    ws: WebSocket,
    handlers: UpstreamHandlers,
    private readonly config: SessionConfig,
    private readonly model: ModelDefinition,
  ) {
    super(ws, handlers, 'Toy');
    this.inputSampleRate = model.inputSampleRate!;
    this.outputSampleRate = model.outputSampleRate!;
  }

  start(): void {
    this.sendJson({ op: 'hello', voice: this.config.voice || this.model.defaultVoice, tools: (this.config.tools ?? []).map((t) => t.name) });
  }

  protected appendAudio(audio: string): void {
    this.sendSerialized('{"op":"audio","pcm":"' + audio + '"}');
  }

  protected translate(event: NonAudioClientEvent): void {
    switch (event.type) {
      case 'audio.commit':
        return this.sendJson({ op: 'commit' });
      case 'text.input':
        return this.sendJson({ op: 'say', text: event.text });
      case 'response.create':
        return this.sendJson({ op: 'go' });
      case 'tool.result': {
        const answer = this.toolCalls.answer(event.tool_call_id);
        if ('error' in answer) return this.emit(answer.error);
        return this.sendJson({ op: 'result', id: event.tool_call_id, value: event.tool_result });
      }
      default:
        return; // the toy has nothing else
    }
  }

  protected onUpstreamMessage(data: Buffer): void {
    const message = JSON.parse(data.toString('utf8')) as ToyMessage;
    switch (message.op) {
      case 'ready':
        return this.markReady();
      case 'start':
        return this.emit({ type: 'response.started' });
      case 'text':
        return this.emit({ type: 'text.delta', delta: String(message.text) });
      case 'audio':
        return this.emit({ type: 'audio.delta', audio: String(message.pcm) });
      case 'call':
        this.toolCalls.opened(String(message.id), String(message.name));
        return this.emit({ type: 'tool.call', tool_call_id: String(message.id), tool_name: String(message.name), tool_arguments: '{}' });
      case 'end':
        return this.emit({ type: 'response.completed' });
      default:
        throw new Error(`unknown op "${message.op}"`);
    }
  }
}
