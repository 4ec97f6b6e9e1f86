// What a provider is to the rest of the gateway: one definition per `providers/<name>/` folder.
// The module, the model catalogue, the mint-time and start-time checks and the standalone server's
// environment all read these definitions; adding a provider is adding its folder and one entry to
// BUILT_IN_PROVIDERS (or passing its definition in the `providers` option).
import type { ModelDefinition } from '../session-config/model-catalogue.js';
import type { UpstreamSocketSource, UpstreamTarget } from './core/upstream-target.js';
import { RealtimeProvider, type OpenUpstreamParams, type UpstreamSession } from './realtime-provider.js';

/** How a provider is reached: its server key and base URL (module options or `<PREFIX>_*` env). */
export interface ProviderCredentials {
  apiKey: string;
  /** HTTP(S) base URL; WebSocket URLs derive from it (http → ws, https → wss). */
  baseUrl?: string;
  /** Connect + session-confirmation timeout. Default 10 s. */
  connectTimeoutMs?: number;
}

/** What `open()` is given: the credentials with every default applied. */
export interface ProviderConnection {
  /** Empty for an in-process provider. */
  apiKey: string;
  baseUrl: string;
  connectTimeoutMs: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** How a provider is switched on. */
export type ProviderAccess =
  /** A remote service: on when an API key is configured (`<envPrefix>_API_KEY`, `<envPrefix>_BASE_URL`). */
  | { kind: 'api-key'; envPrefix: string; defaultBaseUrl: string }
  /**
   * Runs in-process, needs no key: on by default in the library unless `enabledByDefault` is false;
   * the standalone server reads `envSwitch` (default `standaloneDefault`).
   */
  | { kind: 'in-process'; enabledByDefault: boolean; envSwitch?: string; standaloneDefault?: boolean };

export interface ProviderPlugin {
  /** The model-id prefix (`openai` for `openai/gpt-realtime-2`). */
  readonly name: string;
  /** Its human name, in messages and the README's provider table. */
  readonly label: string;
  /** Its catalogue entries, every id `<name>/…`, with what each can do. */
  readonly models: readonly ModelDefinition[];
  readonly access: ProviderAccess;
  /**
   * Resolves once the upstream is ready for audio. Rejects with an Error whose message is safe to
   * show the client when it cannot connect.
   */
  open(params: OpenUpstreamParams, connection: ProviderConnection): Promise<UpstreamSession>;
  /**
   * The socket a session of `model` opens, when it can be opened before the session exists (warm
   * upstreams, core/upstream-socket-pool.ts): `open()` must connect to exactly this target through
   * `connectUpstream`. Leave it out when a connection needs something per session first (xAI
   * exchanges its key for a client secret per session): such a provider is never pre-connected.
   */
  warmTarget?(model: ModelDefinition, connection: ProviderConnection): UpstreamTarget | undefined;
}

/** Identity helper that gives a definition its type (and checks its model ids) where it is written. */
export function defineProvider<P extends ProviderPlugin>(plugin: P): P {
  for (const model of plugin.models) {
    if (!model.id.startsWith(`${plugin.name}/`)) {
      throw new Error(`Provider "${plugin.name}": model id "${model.id}" must start with "${plugin.name}/"`);
    }
  }
  return plugin;
}

export function isProviderPlugin(value: ProviderPlugin | RealtimeProvider): value is ProviderPlugin {
  return Array.isArray((value as ProviderPlugin).models) && typeof (value as ProviderPlugin).access === 'object';
}

/** The connection `open()` gets from what was configured. */
export function connectionOf(plugin: ProviderPlugin, credentials: Partial<ProviderCredentials> | undefined): ProviderConnection {
  return {
    apiKey: credentials?.apiKey ?? '',
    baseUrl: (credentials?.baseUrl ?? (plugin.access.kind === 'api-key' ? plugin.access.defaultBaseUrl : '')).replace(/\/+$/, ''),
    connectTimeoutMs: credentials?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  };
}

/**
 * A definition bound to its credentials: the `RealtimeProvider` the gateway opens sessions with.
 * The built-in classes (`OpenAiProvider`, …) are this with their definition filled in.
 */
export class PluginProvider extends RealtimeProvider {
  readonly name: string;
  private readonly connection: ProviderConnection;
  private upstreamSockets: UpstreamSocketSource | undefined;

  constructor(
    readonly plugin: ProviderPlugin,
    credentials?: Partial<ProviderCredentials>,
  ) {
    super();
    if (plugin.access.kind === 'api-key' && !credentials?.apiKey) {
      throw new Error(`${plugin.label} provider "${plugin.name}": an API key is required`);
    }
    this.name = plugin.name;
    this.connection = connectionOf(plugin, credentials);
  }

  open(params: OpenUpstreamParams): Promise<UpstreamSession> {
    return this.plugin.open(this.upstreamSockets ? { ...params, upstreamSockets: this.upstreamSockets } : params, this.connection);
  }

  /** The socket a session of `model` opens, when it can be pre-connected (`ProviderPlugin.warmTarget`). */
  warmTarget(model: ModelDefinition): UpstreamTarget | undefined {
    return this.plugin.warmTarget?.(model, this.connection);
  }

  get connectTimeoutMs(): number {
    return this.connection.connectTimeoutMs;
  }

  /** Take warm sockets from here before connecting (the module's `warmUpstreams`). */
  useUpstreamSockets(source: UpstreamSocketSource | undefined): void {
    this.upstreamSockets = source;
  }
}
