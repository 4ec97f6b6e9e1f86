// The providers a gateway can open sessions with, picked by model-id prefix, and every known
// provider definition (configured or not) with the catalogue entries they declare.
import { providerOf, type ModelDefinition } from '../session-config/model-catalogue.js';
import { resolveProviders, type ProviderOptions } from './provider-options.js';
import type { ProviderPlugin } from './provider-plugin.js';
import type { RealtimeProvider } from './realtime-provider.js';

export class ProviderRegistry {
  private readonly byName = new Map<string, RealtimeProvider>();

  constructor(
    providers: readonly RealtimeProvider[],
    /** Every known definition, enabled or not (a model of one without a key is refused as "not configured", not "unknown"). */
    readonly plugins: readonly ProviderPlugin[] = [],
    private readonly catalogueModels: readonly ModelDefinition[] = plugins.flatMap((plugin) => plugin.models),
  ) {
    for (const provider of providers) this.byName.set(provider.name, provider);
  }

  /** The registry the module options describe (built-in providers, then the options' own). */
  static fromOptions(options: ProviderOptions): ProviderRegistry {
    const resolved = resolveProviders(options);
    return new ProviderRegistry(resolved.enabled, resolved.plugins, resolved.models);
  }

  forModel(modelId: string): RealtimeProvider | undefined {
    return this.byName.get(providerOf(modelId));
  }

  /** Names of the enabled providers. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** The model catalogue's entries: every definition's models, then the `models` option. */
  models(): readonly ModelDefinition[] {
    return this.catalogueModels;
  }
}
