// Catalogue ids are provider-prefixed (`openai/gpt-realtime-2`); providers know their models by the
// part after the prefix.

/** `openai/gpt-realtime-2` → `gpt-realtime-2` (an id without a prefix is returned as is). */
export function upstreamModelName(modelId: string): string {
  const slash = modelId.indexOf('/');
  return slash < 0 ? modelId : modelId.slice(slash + 1);
}
