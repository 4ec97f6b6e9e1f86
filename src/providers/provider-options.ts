// The provider part of the module options, and how it becomes the enabled providers and the model
// catalogue's entries. Read here, once, for built-in and custom providers alike.
import type { ModelDefinition } from '../session-config/model-catalogue.js';
import { BUILT_IN_PROVIDERS } from './built-in-providers.js';
import { isProviderPlugin, PluginProvider, type ProviderCredentials, type ProviderPlugin } from './provider-plugin.js';
import type { RealtimeProvider } from './realtime-provider.js';
import type { WarmUpstreamsOptions } from './warm-upstreams.options.js';

/** Credentials of a provider that needs a key, or the on/off switch of an in-process one. */
export interface ProviderSettings extends Partial<ProviderCredentials> {
  /** In-process providers only: on or off (default: the provider's own `enabledByDefault`). */
  enabled?: boolean;
}

export interface ProviderOptions {
  /**
   * More providers, picked by model prefix: a definition (`ProviderPlugin`, whose models join the
   * catalogue and whose credentials come from `credentials[name]`) or a ready `RealtimeProvider`
   * (its models come from `models`). One named like a built-in replaces it.
   */
  providers?: Array<ProviderPlugin | RealtimeProvider>;
  /** Extra model catalogue entries; an entry with a known id replaces it. */
  models?: ModelDefinition[];
  /** Settings of any provider by name: `{openai: {apiKey}, loopback: {enabled: true}, toy: {apiKey, baseUrl}}`. */
  credentials?: Record<string, ProviderSettings>;
  /** OpenAI Realtime (GA): same as `credentials.openai`. */
  openai?: ProviderCredentials;
  /** xAI Grok Voice: same as `credentials.xai`. */
  xai?: ProviderCredentials;
  /** Gemini Live: same as `credentials.gemini`. */
  gemini?: ProviderCredentials;
  /** Serve the in-process `loopback/echo` model: same as `credentials.loopback.enabled`. Default false. */
  loopback?: boolean;
  /**
   * Keep `size` upstream sockets connected (not yet configured) per provider endpoint, so
   * `session.start` does not wait for the provider's connect; one idle `idleSeconds` is replaced.
   * Off by default. Providers that fetch a per-session credential first (xAI) are never pooled.
   */
  warmUpstreams?: WarmUpstreamsOptions;
}

/** What the options configure: every known provider definition, the enabled providers, the catalogue. */
export interface ResolvedProviders {
  plugins: ProviderPlugin[];
  enabled: RealtimeProvider[];
  models: ModelDefinition[];
}

export function resolveProviders(options: ProviderOptions, builtIn: readonly ProviderPlugin[] = BUILT_IN_PROVIDERS): ResolvedProviders {
  const plugins = new Map<string, ProviderPlugin>(builtIn.map((plugin) => [plugin.name, plugin]));
  const instances = new Map<string, RealtimeProvider>();
  for (const entry of options.providers ?? []) {
    if (isProviderPlugin(entry)) {
      plugins.set(entry.name, entry);
      instances.delete(entry.name);
    } else {
      instances.set(entry.name, entry);
    }
  }
  const enabled = new Map<string, RealtimeProvider>();
  for (const plugin of plugins.values()) {
    const settings = settingsOf(options, plugin.name);
    if (isEnabled(plugin, settings)) enabled.set(plugin.name, new PluginProvider(plugin, settings));
  }
  // A ready-made provider is on by being passed, and wins over a definition of the same name.
  for (const [name, provider] of instances) enabled.set(name, provider);
  return {
    plugins: [...plugins.values()],
    enabled: [...enabled.values()],
    models: [...[...plugins.values()].flatMap((plugin) => plugin.models), ...(options.models ?? [])],
  };
}

function settingsOf(options: ProviderOptions, name: string): ProviderSettings | undefined {
  const given = options.credentials?.[name];
  if (given) return given;
  // The named options of the first built-in providers, kept for existing users.
  if (name === 'openai' || name === 'xai' || name === 'gemini') return options[name];
  if (name === 'loopback' && options.loopback !== undefined) return { enabled: options.loopback };
  return undefined;
}

function isEnabled(plugin: ProviderPlugin, settings: ProviderSettings | undefined): boolean {
  if (plugin.access.kind === 'api-key') return Boolean(settings?.apiKey);
  return settings?.enabled ?? plugin.access.enabledByDefault;
}
