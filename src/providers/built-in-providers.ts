// The one list of built-in providers. Everything that must know every provider (the module, the
// model catalogue, the standalone server's environment, the README's table, checked by a test)
// iterates it: a new provider is its folder plus one line here.
import type { ModelDefinition } from '../session-config/model-catalogue.js';
import { geminiProvider } from './gemini/gemini.provider.js';
import { loopbackProvider } from './loopback/loopback.provider.js';
import { openaiProvider } from './openai/openai.provider.js';
import type { ProviderPlugin } from './provider-plugin.js';
import { xaiProvider } from './xai/xai.provider.js';

export const BUILT_IN_PROVIDERS: readonly ProviderPlugin[] = [loopbackProvider, openaiProvider, xaiProvider, geminiProvider];

/** Every built-in provider's catalogue entries. */
export const BUILT_IN_MODELS: readonly ModelDefinition[] = BUILT_IN_PROVIDERS.flatMap((plugin) => plugin.models);

/** Default base URL of each built-in provider reached over the network, by name. */
export const DEFAULT_BASE_URLS: Readonly<Record<string, string>> = Object.fromEntries(
  BUILT_IN_PROVIDERS.flatMap((plugin) => (plugin.access.kind === 'api-key' ? [[plugin.name, plugin.access.defaultBaseUrl]] : [])),
);
