// A wire-faithful fake of xAI's Grok Voice Agent API, offline (docs/providers.md §2, checklist §6).
// It reuses the GA-style machinery of the OpenAI fake and swaps in xAI's dialect:
//   - REST `POST /v1/realtime/client_secrets` (Bearer server key; body `{"expires_after":{"seconds"}}`
//     only: `session` or `expires_after.anchor` → 400) → `{"value","expires_at"}`;
//   - WebSocket `/v1/realtime?model=` with `Authorization: Bearer <server key or client secret>`
//     or subprotocol `xai-client-secret.<secret>` (selected); else HTTP 401 `{"code","error"}`;
//     an expired secret is refused the same way; no `model` → the server's default model;
//   - `session.created` (voice `xai_ara`, turn detection `{type:null}`: off), then
//     `conversation.created`, then a `ping` every `pingIntervalMs`;
//   - `session.update` without `session.type`, with flat `voice`/`turn_detection`/`modalities`
//     and `audio.*.format`/`transcription`; GA placements (`audio.output.voice`,
//     `audio.input.turn_detection`, `output_modalities`, `type`) are unknown fields → error;
//   - GA event names, but `conversation.item.added` only (no `.done`); text mode sends both
//     `response.text.delta` and `response.output_text.delta`; interim input transcripts are
//     `…transcription.updated` (cumulative); `response.done` has a top-level `usage` with audio
//     seconds; `response.create` during a response cancels it (no error); server VAD answers
//     even with `create_response:false`; `force_message` speaks a verbatim assistant message.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  GaStyleFakeServer,
  newFakeId,
  sendJson,
  unknownKey,
  type FakeConnection,
  type GaFakeOptions,
  type Json,
  type Problem,
} from './openai-fake.js';

export const XAI_VOICES = ['ara', 'eve', 'leo', 'rex', 'sal', 'altair', 'atlas', 'aurora', 'celeste', 'luna', 'orion', 'sirius'];
const XAI_RATES = [8000, 16000, 24000, 32000, 44100, 48000];
const XAI_SESSION_KEYS = [
  'instructions',
  'voice',
  'modalities',
  'turn_detection',
  'audio',
  'tools',
  'tool_choice',
  'reasoning',
  'resumption',
  'replace',
  'input_audio_transcription',
];

export interface XaiFakeOptions extends GaFakeOptions {
  /** The server key (`XAI_API_KEY`). Default `xai-test`. */
  apiKey?: string;
  /** Interval of the `ping` keep-alive. Default 10 s. */
  pingIntervalMs?: number;
  /** The model served when `?model=` is missing or unknown (xAI substitutes silently). */
  defaultModel?: string;
}

export interface IssuedSecret {
  value: string;
  expiresAt: number;
}

export class XaiFake extends GaStyleFakeServer {
  /** Every client-secret request: headers and parsed body. */
  readonly secretRequests: Array<{ headers: IncomingMessage['headers']; body: unknown; status: number }> = [];
  readonly issued: IssuedSecret[] = [];
  /** How each accepted connection authenticated. */
  readonly auth: Array<'api_key' | 'client_secret'> = [];
  declare readonly options: XaiFakeOptions;

  get apiKey(): string {
    return this.options.apiKey ?? 'xai-test';
  }

  /** Makes every issued secret expire now (the next connect with one is refused). */
  expireSecrets(): void {
    for (const secret of this.issued) secret.expiresAt = 0;
  }

  // ── REST: client secrets ──

  protected override onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname !== '/v1/realtime/client_secrets') return sendJson(res, 404, { code: 'Not Found', error: `No route for ${url.pathname}` });
    if (req.method !== 'POST') return sendJson(res, 405, { code: 'Method Not Allowed', error: 'Use POST' });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const record = (status: number, body: unknown) => this.secretRequests.push({ headers: req.headers, body, status });
      let body: Json | undefined;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      } catch {
        record(400, undefined);
        return sendJson(res, 400, { code: 'Client specified an invalid argument', error: 'Request body is not valid JSON' });
      }
      const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
      if (bearer !== this.apiKey) {
        record(401, body);
        return sendJson(res, 401, { code: 'Unauthorized', error: 'Incorrect API key provided. You can obtain an API key from https://console.x.ai.' });
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        record(400, body);
        return sendJson(res, 400, { code: 'Client specified an invalid argument', error: 'Request body must be a JSON object' });
      }
      if ('session' in body) {
        record(400, body);
        return sendJson(res, 400, { code: 'Client specified an invalid argument', error: 'Does not support `session`' });
      }
      const expiresAfter = body.expires_after ?? {};
      if (typeof expiresAfter !== 'object' || 'anchor' in expiresAfter) {
        record(400, body);
        return sendJson(res, 400, { code: 'Client specified an invalid argument', error: 'Does not support `expires_after.anchor`' });
      }
      const seconds = expiresAfter.seconds ?? 600;
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > 3600) {
        record(400, body);
        return sendJson(res, 400, { code: 'Client specified an invalid argument', error: '`expires_after.seconds` must be an integer between 1 and 3600' });
      }
      const secret: IssuedSecret = { value: `xai-realtime-client-secret-${randomBytes(24).toString('base64url')}`, expiresAt: Date.now() + seconds * 1000 };
      this.issued.push(secret);
      record(200, body);
      sendJson(res, 200, { value: secret.value, expires_at: Math.floor(secret.expiresAt / 1000) });
    });
  }

  // ── WebSocket ──

  protected authenticate(req: IncomingMessage, offered: string[]): { status: number; body: Json } | undefined {
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const fromProtocol = offered.find((p) => p.startsWith('xai-client-secret.'))?.slice('xai-client-secret.'.length);
    const token = fromProtocol ?? bearer;
    if (token === this.apiKey) {
      this.auth.push('api_key');
      return undefined;
    }
    const secret = this.issued.find((s) => s.value === token);
    if (secret && secret.expiresAt > Date.now()) {
      this.auth.push('client_secret');
      return undefined;
    }
    return {
      status: 401,
      body: { code: 'Unauthorized', error: secret ? 'The client secret has expired' : token ? 'Invalid API key or client secret' : 'Missing credentials' },
    };
  }

  protected selectProtocol(offered: string[]): string | false {
    return offered.find((p) => p.startsWith('xai-client-secret.')) ?? false;
  }

  protected override requiresModel(): boolean {
    return false;
  }

  protected override defaultModel(): string {
    return this.options.defaultModel ?? 'grok-voice-think-fast-2.0';
  }

  protected override rejectsBetaHeader(): boolean {
    return false;
  }

  protected onOpen(conn: FakeConnection): void {
    conn.sendEvent({ type: 'session.created', event_id: newFakeId('evt'), session: structuredClone(conn.session) });
    conn.sendEvent({
      type: 'conversation.created',
      event_id: newFakeId('evt'),
      conversation: { id: this.conversationId(conn), object: 'realtime.conversation' },
      previous_item_id: null,
    });
    conn.every(this.options.pingIntervalMs ?? 10_000, () => {
      conn.sendEvent({ type: 'ping', event_id: newFakeId('evt'), timestamp: Date.now(), previous_item_id: null });
    });
  }

  override eventId(): string {
    return newFakeId('evt');
  }

  override conversationId(conn: FakeConnection): string {
    return `conv_${conn.session.id.slice(5)}`;
  }

  initialSession(conn: FakeConnection): Json {
    return {
      id: newFakeId('sess'),
      object: 'realtime.session',
      instructions: '',
      voice: 'xai_ara',
      modalities: ['audio'],
      turn_detection: { type: null },
      tools: [],
      model: conn.model === 'grok-voice-latest' ? 'grok-voice-think-fast-2.0' : conn.model,
    };
  }

  override errorShape(code: string): { type: string; code: string } {
    // xAI's validation codes diverge from OpenAI's (docs/providers.md §2.6).
    if (code === 'unknown_parameter' || code === 'invalid_value' || code === 'invalid_type' || code === 'missing_required_parameter') {
      return { type: 'invalid_request_error', code: 'invalid_request_error' };
    }
    return { type: 'invalid_request_error', code };
  }

  validateSession(session: Json): Problem | undefined {
    const unknown =
      unknownKey(session, XAI_SESSION_KEYS, 'session') ??
      unknownKey(session.audio, ['input', 'output'], 'session.audio') ??
      unknownKey(session.audio?.input, ['format', 'transcription', 'transport'], 'session.audio.input') ??
      unknownKey(session.audio?.output, ['format', 'speed', 'transport'], 'session.audio.output') ??
      unknownKey(session.audio?.input?.transcription, ['model', 'language_hint', 'keyterms'], 'session.audio.input.transcription') ??
      unknownKey(session.turn_detection, ['type', 'threshold', 'silence_duration_ms', 'prefix_padding_ms', 'idle_timeout_ms', 'create_response', 'interrupt_response'], 'session.turn_detection');
    if (unknown) return unknown;
    if (session.voice !== undefined && (typeof session.voice !== 'string' || !XAI_VOICES.includes(session.voice.toLowerCase()))) {
      return { code: 'invalid_value', message: `Unknown voice '${session.voice}'`, param: 'session.voice' };
    }
    if (session.turn_detection !== undefined && session.turn_detection !== null && session.turn_detection.type !== 'server_vad' && session.turn_detection.type !== null) {
      return { code: 'invalid_value', message: `Unsupported turn_detection type '${session.turn_detection.type}'`, param: 'session.turn_detection.type' };
    }
    if (session.modalities !== undefined && (!Array.isArray(session.modalities) || session.modalities.some((m: unknown) => m !== 'audio' && m !== 'text'))) {
      return { code: 'invalid_value', message: 'modalities must be a list of "audio" and "text"', param: 'session.modalities' };
    }
    for (const [where, format] of [
      ['session.audio.input.format', session.audio?.input?.format],
      ['session.audio.output.format', session.audio?.output?.format],
    ] as const) {
      if (format === undefined) continue;
      const u = unknownKey(format, ['type', 'rate'], where);
      if (u) return u;
      if (format.type === 'audio/pcm' && format.rate !== undefined && !XAI_RATES.includes(format.rate)) {
        return { code: 'invalid_value', message: `Unsupported sample rate ${format.rate}`, param: `${where}.rate` };
      }
    }
    if (session.tools !== undefined) {
      if (!Array.isArray(session.tools)) return { code: 'invalid_type', message: 'tools must be a list', param: 'session.tools' };
      for (const [i, tool] of session.tools.entries()) {
        if (!['function', 'web_search', 'x_search', 'file_search', 'mcp'].includes(tool?.type)) {
          return { code: 'invalid_value', message: `Unknown tool type '${tool?.type}'`, param: `session.tools[${i}].type` };
        }
        if (tool.type === 'function') {
          const u = unknownKey(tool, ['type', 'name', 'description', 'parameters'], `session.tools[${i}]`);
          if (u) return u;
        }
      }
    }
    if (session.reasoning?.effort !== undefined && !['high', 'none'].includes(session.reasoning.effort)) {
      return { code: 'invalid_value', message: `Unsupported reasoning effort '${session.reasoning.effort}'`, param: 'session.reasoning.effort' };
    }
    return undefined;
  }

  override normalizeSession(session: Json): Json {
    if (typeof session.voice !== 'string') return session;
    return { ...session, voice: `xai_${session.voice.toLowerCase()}` };
  }

  voiceOf(session: Json): string {
    return String(session.voice ?? 'xai_ara');
  }

  vadOf(session: Json) {
    const td = session.turn_detection;
    if (!td || td.type !== 'server_vad') return undefined;
    return {
      threshold: td.threshold ?? 0.5,
      prefixPaddingMs: td.prefix_padding_ms ?? 300,
      silenceDurationMs: td.silence_duration_ms ?? 500,
      // Observed: create_response:false is echoed but not honoured.
      createResponse: true,
      interruptResponse: td.interrupt_response !== false,
    };
  }

  transcriptionOf(session: Json): { model: string } | undefined {
    return session.audio?.input?.transcription ?? session.input_audio_transcription ?? undefined;
  }

  toolsOf(session: Json): Json[] {
    return Array.isArray(session.tools) ? session.tools.filter((t: Json) => t?.type === 'function') : [];
  }

  outputModalitiesOf(session: Json): string[] {
    return session.modalities ?? ['audio'];
  }

  inputRateOf(session: Json): number {
    return session.audio?.input?.format?.rate ?? 24000;
  }

  outputRateOf(session: Json): number {
    return session.audio?.output?.format?.rate ?? 24000;
  }

  sendInputTranscription(conn: FakeConnection, itemId: string, transcript: string): void {
    const words = transcript.split(' ');
    // Cumulative interim text, then the final transcript.
    for (let i = 1; i <= words.length; i++) {
      conn.sendEvent({
        type: 'conversation.item.input_audio_transcription.updated',
        event_id: this.eventId(),
        item_id: itemId,
        content_index: 0,
        transcript: words.slice(0, i).join(' '),
      });
    }
    conn.sendEvent({ type: 'conversation.item.input_audio_transcription.completed', event_id: this.eventId(), item_id: itemId, content_index: 0, transcript });
  }

  sendTextDelta(conn: FakeConnection, ids: Json): void {
    conn.sendEvent({ type: 'response.output_text.delta', event_id: this.eventId(), ...ids });
    conn.sendEvent({ type: 'response.text.delta', event_id: this.eventId(), ...ids });
  }

  sendResponseDone(conn: FakeConnection, response: Json, usage: Json): void {
    const audioTokens = usage.output_token_details?.audio_tokens ?? 0;
    const seconds = Math.round(audioTokens * 0.05 * 100) / 100;
    conn.sendEvent({
      type: 'response.done',
      event_id: this.eventId(),
      response,
      usage: { ...usage, output_audio_seconds: seconds, billable_audio_seconds: seconds },
    });
  }

  sendsItemDone(): boolean {
    return false;
  }

  responseCreateWhileActive(): 'cancel-previous' {
    return 'cancel-previous';
  }

  cancelNotActiveError() {
    return { code: 'response_cancel_not_active', message: 'Cancellation failed: no active response found' };
  }

  override validateItem(item: Json): Problem | undefined {
    if (item.type === 'force_message') {
      if (item.role !== 'assistant') return { code: 'invalid_value', message: 'force_message must have role assistant', param: 'item.role' };
      const text = Array.isArray(item.content) ? item.content.find((p: Json) => p?.type === 'output_text')?.text : undefined;
      if (typeof text !== 'string') return { code: 'missing_required_parameter', message: 'force_message needs an output_text part', param: 'item.content' };
      return undefined;
    }
    return super.validateItem(item);
  }

  override forceMessage(conn: FakeConnection, item: Json): void {
    const text = (item.content as Json[]).find((p) => p?.type === 'output_text')!.text as string;
    if (conn.responding) conn.cancelActive('client_cancelled');
    conn.startResponse({ kind: 'none', text: '' }, text);
  }

  override extraClientEventTypes(): string[] {
    return ['conversation.item.truncate', 'conversation.item.delete'];
  }
}

export async function startXaiFake(options: XaiFakeOptions = {}): Promise<XaiFake> {
  return new XaiFake(options).listen();
}
