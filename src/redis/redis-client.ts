// The slice of an ioredis client (`Redis` or `Cluster`) the Redis stores use. Typed structurally so
// that this package's public types never reference `ioredis`, which stays an optional peer.

export type RedisArgument = string | number | Buffer;

/** What the Redis ticket store and session limiter need from a client; an ioredis `Redis` or `Cluster` fits. */
export interface RedisClient {
  /** ioredis connection status: `wait`, `connecting`, `connect`, `ready`, `reconnecting`, `end`, … */
  readonly status: string;
  call(command: string, ...args: RedisArgument[]): Promise<unknown>;
  connect(): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(reconnect?: boolean): void;
  on(event: string | symbol, listener: (...args: any[]) => void): unknown;
  off(event: string | symbol, listener: (...args: any[]) => void): unknown;
  /**
   * A new client with the same connection options (ioredis `duplicate()`): the live-session
   * directory subscribes to terminations on one, since a subscribed connection runs no other command.
   */
  duplicate?(...override: unknown[]): RedisClient;
}

/** Duck-typing that tells a client apart from connection options. */
export function isRedisClient(value: unknown): value is RedisClient {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as RedisClient).call === 'function' &&
    typeof (value as RedisClient).quit === 'function'
  );
}

/**
 * Whether the client is a Redis Cluster client (ioredis `Cluster` sets `isCluster`). On a cluster a
 * script may only touch keys of one slot, so the stores keep their one-key-per-command forms there.
 */
export function isClusterClient(client: RedisClient): boolean {
  return (client as { isCluster?: unknown }).isCluster === true;
}
