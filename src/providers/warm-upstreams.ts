// The module option `warmUpstreams`: which models get pre-connected upstream sockets, the pool that
// holds them (core/upstream-socket-pool.ts), and its life with the app's (warming once the app has
// bootstrapped, everything closed at shutdown). Off unless the option is given.
import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Clock } from '../common/clock.js';
import type { ModelDefinition } from '../session-config/model-catalogue.js';
import { UpstreamSocketPool } from './core/upstream-socket-pool.js';
import { PluginProvider } from './provider-plugin.js';
import type { ProviderRegistry } from './provider-registry.js';
import type { WarmUpstreamsOptions } from './warm-upstreams.options.js';

export { DEFAULT_WARM_IDLE_SECONDS, type WarmUpstreamsOptions } from './warm-upstreams.options.js';

export class WarmUpstreams implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RealtimeWarmUpstreams');
  /** Undefined when the option is off. */
  readonly pool: UpstreamSocketPool | undefined;
  private readonly targets: Array<{ provider: PluginProvider; model: ModelDefinition }> = [];
  private readonly shutdownSteps: Array<() => void> = [];

  constructor(
    registry: ProviderRegistry,
    options: WarmUpstreamsOptions | undefined,
    clock: Clock,
    rotationMarginSeconds: number,
    /** Metrics hooks (the module passes RealtimeMetrics'). */
    observe: { onTake?(warm: boolean): void } = {},
  ) {
    if (!options) return;
    const { size, idleSeconds } = options;
    if (!Number.isInteger(size) || size < 1 || size > 100) throw new Error('RealtimeSessionsModule: warmUpstreams.size must be an integer from 1 to 100');
    if (typeof idleSeconds !== 'number' || !(idleSeconds > 0)) throw new Error('RealtimeSessionsModule: warmUpstreams.idleSeconds must be a positive number');
    if (idleSeconds >= rotationMarginSeconds) {
      // The provider's session limit runs from the connect: a socket parked longer than the margin
      // could reach the provider's end before the gateway rotates.
      throw new Error(`RealtimeSessionsModule: warmUpstreams.idleSeconds (${idleSeconds}) must be below limits.rotationMarginSeconds (${rotationMarginSeconds})`);
    }
    const realtime = registry.models().filter((m) => m.realtime);
    const poolable = (model: ModelDefinition) => {
      const provider = registry.forModel(model.id);
      return provider instanceof PluginProvider && provider.warmTarget(model) ? provider : undefined;
    };
    if (options.models) {
      for (const id of options.models) {
        const model = realtime.find((m) => m.id === id);
        if (!model) throw new Error(`RealtimeSessionsModule: warmUpstreams.models: "${id}" is not a realtime model of the catalogue`);
        if (!registry.forModel(id)) throw new Error(`RealtimeSessionsModule: warmUpstreams.models: the provider of "${id}" is not configured`);
        const provider = poolable(model);
        if (!provider) throw new Error(`RealtimeSessionsModule: warmUpstreams.models: "${id}" cannot be pre-connected (its provider needs a per-session credential first, or is in-process)`);
        this.targets.push({ provider, model });
      }
    } else {
      for (const model of realtime) {
        const provider = poolable(model);
        if (provider) this.targets.push({ provider, model });
      }
    }
    this.pool = new UpstreamSocketPool({
      size,
      idleMs: idleSeconds * 1000,
      clock,
      ...(observe.onTake ? { onTake: observe.onTake } : {}),
      // Once per failing streak, then every tenth: an unreachable provider must not flood the log.
      onConnectError: (label, err, failures) => {
        if (failures === 1 || failures % 10 === 0) this.logger.warn(`Warm upstream for ${label} could not connect (${failures} in a row): ${err.message}`);
      },
    });
    for (const { provider } of this.targets) provider.useUpstreamSockets(this.pool);
  }

  /** Model ids being kept warm. */
  get models(): string[] {
    return this.targets.map((t) => t.model.id);
  }

  onApplicationBootstrap(): void {
    if (!this.pool) return;
    for (const { provider, model } of this.targets) {
      this.pool.warm(provider.warmTarget(model)!, { label: model.id, connectTimeoutMs: provider.connectTimeoutMs });
    }
  }

  /** Runs `step` at shutdown (e.g. the metrics stop reading this pool). */
  onShutdown(step: () => void): void {
    this.shutdownSteps.push(step);
  }

  async onApplicationShutdown(): Promise<void> {
    for (const step of this.shutdownSteps.splice(0)) step();
    for (const { provider } of this.targets) provider.useUpstreamSockets(undefined);
    await this.pool?.close();
  }
}
