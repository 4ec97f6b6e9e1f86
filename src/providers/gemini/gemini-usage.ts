// Gemini's per-turn `usageMetadata` → the normalized `usage` event (the token names clients already
// know from OpenAI's `response.done.usage`). Per turn, not cumulative, like Gemini's own numbers.
import type { ModalityTokenCount, UsageMetadata } from '@google/genai';

export function normalizeGeminiUsage(usage: UsageMetadata): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (usage.promptTokenCount !== undefined) out.input_tokens = usage.promptTokenCount;
  if (usage.responseTokenCount !== undefined) out.output_tokens = usage.responseTokenCount;
  if (usage.totalTokenCount !== undefined) out.total_tokens = usage.totalTokenCount;
  const input = byModality(usage.promptTokensDetails);
  if (usage.cachedContentTokenCount) input.cached_tokens = usage.cachedContentTokenCount;
  if (Object.keys(input).length) out.input_token_details = input;
  const output = byModality(usage.responseTokensDetails);
  if (Object.keys(output).length) out.output_token_details = output;
  if (usage.thoughtsTokenCount) out.reasoning_tokens = usage.thoughtsTokenCount;
  if (usage.toolUsePromptTokenCount) out.tool_use_prompt_tokens = usage.toolUsePromptTokenCount;
  return out;
}

/** `[{modality:"AUDIO",tokenCount:222}]` → `{audio_tokens: 222}`. */
function byModality(details: ModalityTokenCount[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of details ?? []) {
    if (!entry.modality || typeof entry.tokenCount !== 'number') continue;
    const key = `${String(entry.modality).toLowerCase()}_tokens`;
    out[key] = (out[key] ?? 0) + entry.tokenCount;
  }
  return out;
}
