// The loopback provider's stand-in for a model deciding to call a tool: the user's text reads
// `call <tool name> <JSON object>`. Anything else is not a tool call and gets echoed as text.
import type { ToolDefinition } from '../../session-config/session-config.js';

export interface ToolCallCommand {
  toolName: string;
  /** The arguments re-serialized compactly, as upstreams send them. */
  toolArguments: string;
}

const COMMAND = /^call\s+(\S+)\s+([\s\S]+)$/;

export function parseToolCallCommand(text: string, tools: readonly ToolDefinition[]): ToolCallCommand | undefined {
  const match = COMMAND.exec(text.trim());
  if (!match) return undefined;
  const [, toolName, json] = match;
  // Only tools the session declared: a real model cannot call a tool it was not given.
  if (!tools.some((tool) => tool.name === toolName)) return undefined;
  let args: unknown;
  try {
    args = JSON.parse(json);
  } catch {
    return undefined;
  }
  // Tool arguments are a JSON object in every upstream (they match the tool's JSON Schema).
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return undefined;
  return { toolName, toolArguments: JSON.stringify(args) };
}
