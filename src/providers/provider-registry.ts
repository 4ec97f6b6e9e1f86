// Picks the provider of a model from its id prefix.
import { providerOf } from '../session-config/model-catalogue.js';
import type { RealtimeProvider } from './realtime-provider.js';

export class ProviderRegistry {
  private readonly byName = new Map<string, RealtimeProvider>();

  constructor(providers: readonly RealtimeProvider[]) {
    for (const provider of providers) this.byName.set(provider.name, provider);
  }

  forModel(modelId: string): RealtimeProvider | undefined {
    return this.byName.get(providerOf(modelId));
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}
