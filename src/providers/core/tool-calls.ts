// Tool calls the client was told about and has not answered, once for every adapter: a result for
// an unknown (or already answered, or cancelled by the provider) call is an `unknown_tool_call`
// error event, never something sent upstream.
import { ErrorCode } from '../../errors/error-codes.js';
import type { ServerEvent } from '../realtime-provider.js';

export type ToolCallAnswer = { name: string } | { error: Extract<ServerEvent, { type: 'error' }> };

export class ToolCallTracker {
  /** id → function name (some providers need the name back with the result). */
  private readonly open = new Map<string, string>();
  private readonly cancelled = new Set<string>();

  /** @param providerLabel names who cancelled a call in the error message. */
  constructor(private readonly providerLabel: string) {}

  /** The client is being told about this call. */
  opened(id: string, name: string): void {
    this.open.set(id, name);
  }

  /** The provider withdrew an open call: answering it is refused with a message saying so. */
  cancel(id: string): void {
    if (this.open.delete(id)) this.cancelled.add(id);
  }

  /** Calls still waiting for their result. */
  get pending(): number {
    return this.open.size;
  }

  /** Closes the call and returns its name, or the error event to send the client instead. */
  answer(id: string): ToolCallAnswer {
    const name = this.open.get(id);
    if (name !== undefined) {
      this.open.delete(id);
      return { name };
    }
    const message = this.cancelled.delete(id)
      ? `tool.result: ${this.providerLabel} cancelled the tool call "${id}"`
      : `tool.result: no open tool call with id "${id}"`;
    return { error: { type: 'error', error: { code: ErrorCode.UnknownToolCall, message } } };
  }
}
