// The Redis connection shared by the ticket store and the session limiter. `ioredis` is an optional
// peer dependency: it is imported here, lazily, and only when the `redis` option is given.
//
// Clients this module creates fail fast instead of queueing: no offline queue (a command while
// disconnected fails at once), a command timeout, a socket timeout that drops a frozen connection,
// no resending after a reconnect; and they reconnect by themselves, at least once a second, so
// service resumes as soon as Redis is back. A client passed in by the host app is used as is.
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { RedisClient } from './redis-client.js';
import { resolveRedisOptions, type RealtimeRedisConfig, type ResolvedRedisOptions } from './redis.options.js';

type ClientConstructor = new (...args: any[]) => RedisClient;

/** The two client classes of ioredis. */
export interface IoredisClasses {
  Redis: ClientConstructor;
  Cluster: ClientConstructor;
}

/** Imports ioredis on first use, with an actionable message when it is not installed. */
export async function importIoredis(load: () => Promise<unknown> = () => import('ioredis')): Promise<IoredisClasses> {
  let mod: Record<string, any>;
  try {
    mod = (await load()) as Record<string, any>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException)?.code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error('The redis option needs the optional peer dependency "ioredis": npm install ioredis@^6', { cause: err });
    }
    throw err;
  }
  // ESM namespace of a CommonJS package: named exports where detected, else on `default`.
  const Redis = mod.Redis ?? mod.default;
  const Cluster = mod.Cluster ?? mod.default?.Cluster;
  if (typeof Redis !== 'function' || typeof Cluster !== 'function') throw new Error('The installed "ioredis" does not export Redis and Cluster');
  return { Redis, Cluster };
}

/** ioredis options that make a request fail within `commandTimeoutMs` rather than wait for Redis. */
export function failFastClientOptions(options: ResolvedRedisOptions): Record<string, unknown> {
  return {
    commandTimeout: options.commandTimeoutMs,
    // Armed only while replies are awaited: a connection that stays silent this long is dropped and
    // re-opened, so a frozen or black-holed Redis is noticed without waiting for TCP keep-alive.
    socketTimeout: Math.max(2 * options.commandTimeoutMs, 1000),
    connectTimeout: options.connectTimeoutMs,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectionName: 'nestjs-realtime-sessions',
  };
}

const reconnectDelay = (attempt: number): number => Math.min(attempt * 100, 1000);

/**
 * ioredis listens to its sockets' errors with `once`, but a failing TLS handshake can emit two, and
 * an unhandled second one would crash the gateway (redis/ioredis#961). A lasting no-op listener on
 * every socket it opens keeps that from happening; ioredis still reports the first error.
 */
function guardSocketErrors(client: unknown): void {
  type Connect = (...args: unknown[]) => Promise<unknown>;
  const connector = (client as { connector?: { connect?: Connect } }).connector;
  if (typeof connector?.connect !== 'function') return;
  const connect: Connect = connector.connect.bind(connector);
  connector.connect = async (...args) => {
    const socket = await connect(...args);
    (socket as { on?: (event: string, listener: () => void) => void } | undefined)?.on?.('error', () => undefined);
    return socket;
  };
}

export interface RedisConnectionOpenOptions {
  /** How ioredis is loaded (tests replace it). */
  importer?: () => Promise<IoredisClasses>;
}

export class RedisConnection implements OnApplicationShutdown {
  private readonly logger = new Logger('RedisConnection');
  private healthy = true;
  private closed = false;

  private constructor(
    readonly client: RedisClient,
    readonly options: ResolvedRedisOptions,
    /** True when this module created the client (and so closes it). */
    readonly owned: boolean,
  ) {}

  /** Creates (or adopts) the client and waits, at most `connectTimeoutMs`, for it to be ready. */
  static async open(config: RealtimeRedisConfig, { importer = importIoredis }: RedisConnectionOpenOptions = {}): Promise<RedisConnection> {
    const options = resolveRedisOptions(config);
    if (options.client) return new RedisConnection(options.client, options, false).warnIfSlowToFail().ready();
    const { Redis, Cluster } = await importer();
    const defaults = failFastClientOptions(options);
    let client: RedisClient;
    // Created lazily, so every socket is guarded before the first one opens.
    if (options.cluster) {
      const clusterOptions = options.cluster.options as { redisOptions?: object };
      client = new Cluster(options.cluster.nodes, {
        enableOfflineQueue: false,
        clusterRetryStrategy: reconnectDelay,
        ...clusterOptions,
        redisOptions: { ...defaults, ...clusterOptions.redisOptions },
        lazyConnect: true,
      });
      client.on('+node', guardSocketErrors);
    } else {
      const clientOptions = { ...defaults, enableOfflineQueue: false, retryStrategy: reconnectDelay, ...options.connection, lazyConnect: true };
      client = options.url ? new Redis(options.url, clientOptions) : new Redis(clientOptions);
      guardSocketErrors(client);
    }
    const connection = new RedisConnection(client, options, true).watch();
    // A failed first attempt is reported as an `error` event and retried like any reconnect.
    client.connect().catch(() => undefined);
    return connection.ready();
  }

  /** Where the client points, without credentials (for logs). */
  describe(): string {
    const { url, cluster, connection } = this.options;
    if (!this.owned) return 'a client provided by the application';
    if (cluster) return `a cluster (${cluster.nodes.length} startup node${cluster.nodes.length === 1 ? '' : 's'})`;
    if (url) {
      try {
        const parsed = new URL(url);
        parsed.username = '';
        parsed.password = '';
        return parsed.toString();
      } catch {
        return 'the configured URL';
      }
    }
    const c = (connection ?? {}) as { host?: string; port?: number; path?: string; sentinels?: unknown[]; name?: string };
    if (c.sentinels) return `sentinels (master group "${c.name ?? 'mymaster'}")`;
    return c.path ?? `${c.host ?? 'localhost'}:${c.port ?? 6379}`;
  }

  /** Closes the client if this module created it; a client passed in is left to its owner. */
  async close(): Promise<void> {
    if (this.closed || !this.owned) return;
    this.closed = true;
    if (!['connecting', 'connect', 'ready'].includes(this.client.status)) {
      // No socket (ended, or between reconnect attempts): this only cancels the next attempt.
      this.client.disconnect();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    let onEnd: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => {
      onEnd = resolve;
      this.client.on('end', onEnd);
      timer = setTimeout(resolve, this.options.commandTimeoutMs);
    });
    // QUIT lets commands already sent (the last lease releases) complete.
    if (this.client.status === 'ready') this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
    await ended;
    clearTimeout(timer);
    this.client.off('end', onEnd);
    if (this.client.status !== 'end') this.client.disconnect();
  }

  // After the gateway's own destroy hooks, which release the session leases through this client.
  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  /** A client passed in is used as is: say so if it would let requests wait on an unreachable Redis. */
  private warnIfSlowToFail(): this {
    const settings = (this.client as { options?: { commandTimeout?: number; redisOptions?: { commandTimeout?: number } } }).options;
    if (settings && settings.commandTimeout === undefined && settings.redisOptions?.commandTimeout === undefined) {
      this.logger.warn(
        'The Redis client passed in has no commandTimeout: while Redis is unreachable, minting and upgrades wait as long ' +
          'as the client does. Give it commandTimeout (and enableOfflineQueue: false) to answer 503 quickly.',
      );
    }
    return this;
  }

  /** Logs the first connection, then outages and recoveries once each (not every reconnect attempt). */
  private watch(): this {
    let connectedOnce = false;
    this.client.on('error', (err: Error) => {
      if (!this.healthy || this.closed) return;
      this.healthy = false;
      this.logger.error(`Redis unreachable (${err?.message}): minting and upgrades answer 503 until it is back`);
    });
    this.client.on('ready', () => {
      if (!connectedOnce) {
        connectedOnce = true;
        this.logger.log(`Connected to Redis: ${this.describe()}, key prefix "${this.options.keyPrefix}"`);
      } else if (!this.healthy) {
        this.logger.log('Redis connection restored');
      }
      this.healthy = true;
    });
    return this;
  }

  private async ready(): Promise<this> {
    if (['connecting', 'connect', 'reconnecting'].includes(this.client.status)) await this.waitForReady();
    if (!this.owned) {
      this.logger.log(`Using the Redis client provided by the application, key prefix "${this.options.keyPrefix}"`);
    } else if (this.client.status !== 'ready') {
      this.logger.warn(
        `Redis (${this.describe()}) not ready after ${this.options.connectTimeoutMs} ms; starting anyway: ` +
          'requests that need it answer 503 until it is',
      );
    }
    return this;
  }

  private waitForReady(): Promise<boolean> {
    return new Promise((resolve) => {
      const onReady = () => finish(true);
      const timer = setTimeout(() => finish(false), this.options.connectTimeoutMs);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(ok);
      };
      this.client.on('ready', onReady);
    });
  }
}
