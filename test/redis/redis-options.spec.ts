// The `redis` option and the standalone REDIS_* variables: what is accepted, what is refused (with
// messages that never echo a URL, which may hold a password), and the fail-fast ioredis settings
// every client the module creates gets, for a URL, Sentinel and Cluster alike.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { RedisConnection, type IoredisClasses } from '../../src/redis/redis-connection.js';
import { resolveRedisOptions } from '../../src/redis/redis.options.js';
import { EnvConfigError, loadStandaloneConfig } from '../../src/standalone/env-config.js';

Logger.overrideLogger(false);

/** Stands for an ioredis client: records how it was constructed, never connects. */
class FakeClient extends EventEmitter {
  static created: FakeClient[] = [];
  status = 'wait';
  readonly args: unknown[];
  connectCalls = 0;
  quitCalls = 0;
  disconnectCalls = 0;
  constructor(...args: unknown[]) {
    super();
    this.args = args;
    FakeClient.created.push(this);
  }
  async call(): Promise<unknown> {
    return 'OK';
  }
  async connect(): Promise<void> {
    this.connectCalls += 1;
  }
  async quit(): Promise<unknown> {
    this.quitCalls += 1;
    return 'OK';
  }
  disconnect(): void {
    this.disconnectCalls += 1;
    this.status = 'end';
    this.emit('end');
  }
}
class FakeRedis extends FakeClient {}
class FakeCluster extends FakeClient {}
const fakeIoredis = async (): Promise<IoredisClasses> => ({ Redis: FakeRedis, Cluster: FakeCluster });

async function open(config: Parameters<typeof RedisConnection.open>[0]): Promise<{ connection: RedisConnection; client: FakeClient }> {
  FakeClient.created = [];
  const connection = await RedisConnection.open(config, { importer: fakeIoredis });
  return { connection, client: FakeClient.created[0] };
}

describe('resolveRedisOptions', () => {
  it('takes a URL string, a client, or an options object, with defaults', () => {
    expect(resolveRedisOptions('redis://localhost:6379')).toMatchObject({
      url: 'redis://localhost:6379',
      keyPrefix: 'realtime:',
      commandTimeoutMs: 1000,
      connectTimeoutMs: 5000,
      sessionLeaseTtlMs: 30_000,
      sharedRateLimits: false,
    });
    expect(resolveRedisOptions({ url: 'redis://x', sharedRateLimits: true }).sharedRateLimits).toBe(true);
    const client = new FakeClient();
    expect(resolveRedisOptions(client).client).toBe(client);
    expect(resolveRedisOptions({ connection: { host: 'redis' }, keyPrefix: 'voice:', commandTimeoutMs: 250 })).toMatchObject({
      connection: { host: 'redis' },
      keyPrefix: 'voice:',
      commandTimeoutMs: 250,
    });
  });

  it('refuses no source, or two at once', () => {
    expect(() => resolveRedisOptions({})).toThrow(/one of client, url, connection or cluster/);
    expect(() => resolveRedisOptions({ client: new FakeClient(), url: 'redis://x' })).toThrow(/got client and url\/connection/);
    expect(() => resolveRedisOptions({ url: 'redis://x', cluster: { nodes: ['x:7000'] } })).toThrow(/url\/connection and cluster/);
    expect(() => resolveRedisOptions({ cluster: { nodes: [] } })).toThrow(/at least one node/);
  });

  it('refuses a URL that is not redis:// or rediss://, without echoing it', () => {
    let message = '';
    try {
      resolveRedisOptions('http://user:hunter2@redis:6379');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/redis:\/\/ or rediss:\/\//);
    expect(message).not.toContain('hunter2');
  });

  it('refuses timeouts that are not positive integers', () => {
    expect(() => resolveRedisOptions({ url: 'redis://x', commandTimeoutMs: 0 })).toThrow(/commandTimeoutMs/);
    expect(() => resolveRedisOptions({ url: 'redis://x', sessionLeaseTtlMs: 1.5 })).toThrow(/sessionLeaseTtlMs/);
  });
});

describe('clients the module creates', () => {
  it('fail fast: no offline queue, a command and a socket timeout, no retries or resends, reconnecting at least every second', async () => {
    const { connection, client } = await open({ url: 'redis://:secret@redis.internal:6380/2', commandTimeoutMs: 400, connectTimeoutMs: 2000 });
    expect(client).toBeInstanceOf(FakeRedis);
    const [url, options] = client.args as [string, Record<string, unknown>];
    expect(url).toBe('redis://:secret@redis.internal:6380/2');
    expect(options).toMatchObject({
      commandTimeout: 400,
      socketTimeout: 1000,
      connectTimeout: 2000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
    });
    const retry = options.retryStrategy as (attempt: number) => number;
    expect([1, 5, 10, 1000].map(retry)).toEqual([100, 500, 1000, 1000]);
    expect(connection.owned).toBe(true);
    // Created lazily (so its sockets can be guarded first), then connected once.
    expect(options.lazyConnect).toBe(true);
    expect(client.connectCalls).toBe(1);
    // Logs name the target without credentials.
    expect(connection.describe()).toBe('redis://redis.internal:6380/2');
  });

  it('lay connection options (TLS, Sentinel, …) over the defaults', async () => {
    const sentinel = { sentinels: [{ host: 's1', port: 26379 }], name: 'voice', tls: {}, commandTimeout: 2500 };
    const { connection, client } = await open({ connection: sentinel });
    const [options] = client.args as [Record<string, unknown>];
    expect(options).toMatchObject({ ...sentinel, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    expect(connection.describe()).toBe('sentinels (master group "voice")');
  });

  it('build a Cluster from its nodes, with the fail-fast settings on every node', async () => {
    const { client } = await open({ cluster: { nodes: ['n1:7000', { host: 'n2', port: 7001 }], options: { scaleReads: 'master', redisOptions: { password: 'p' } } }, commandTimeoutMs: 300 });
    expect(client).toBeInstanceOf(FakeCluster);
    const [nodes, options] = client.args as [unknown[], Record<string, any>];
    expect(nodes).toEqual(['n1:7000', { host: 'n2', port: 7001 }]);
    expect(options).toMatchObject({ enableOfflineQueue: false, scaleReads: 'master' });
    expect(options.redisOptions).toMatchObject({ commandTimeout: 300, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false, password: 'p' });
    expect(options.clusterRetryStrategy(50)).toBe(1000);
  });

  it('are closed by the module; a client passed in is not', async () => {
    const { connection, client } = await open('redis://x');
    await connection.close();
    expect(client.disconnectCalls).toBe(1);

    const own = new FakeClient();
    const adopted = await RedisConnection.open({ client: own }, { importer: fakeIoredis });
    expect(adopted.owned).toBe(false);
    await adopted.close();
    expect(own.quitCalls + own.disconnectCalls).toBe(0);
  });
});

describe('standalone REDIS_* variables', () => {
  const base = { REALTIME_API_KEYS: 'proj_a:k' };

  it('stays in memory without REDIS_URL', () => {
    expect(loadStandaloneConfig(base).options.redis).toBeUndefined();
    expect(loadStandaloneConfig({ ...base, REDIS_URL: '  ' }).options.redis).toBeUndefined();
  });

  it('reads REDIS_URL, REDIS_KEY_PREFIX, REDIS_COMMAND_TIMEOUT_MS, REDIS_SESSION_LEASE_TTL_MS and REDIS_SHARED_RATE_LIMITS', () => {
    expect(loadStandaloneConfig({ ...base, REDIS_URL: 'rediss://redis:6380' }).options.redis).toEqual({
      url: 'rediss://redis:6380',
      keyPrefix: 'realtime:',
      commandTimeoutMs: 1000,
      sessionLeaseTtlMs: 30_000,
      sharedRateLimits: false,
    });
    expect(
      loadStandaloneConfig({
        ...base,
        REDIS_URL: 'redis://redis:6379/1',
        REDIS_KEY_PREFIX: 'eu1:',
        REDIS_COMMAND_TIMEOUT_MS: '250',
        REDIS_SESSION_LEASE_TTL_MS: '10000',
        REDIS_SHARED_RATE_LIMITS: 'true',
      }).options.redis,
    ).toEqual({ url: 'redis://redis:6379/1', keyPrefix: 'eu1:', commandTimeoutMs: 250, sessionLeaseTtlMs: 10_000, sharedRateLimits: true });
  });

  it('stops at start on a bad value, naming the variable and never echoing the URL', () => {
    const bad = () => loadStandaloneConfig({ ...base, REDIS_URL: 'redis-cluster.internal:6379?password=hunter2' });
    expect(bad).toThrow(EnvConfigError);
    expect(bad).toThrow(/^REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL$/);
    expect(() => loadStandaloneConfig({ ...base, REDIS_URL: 'redis://r', REDIS_COMMAND_TIMEOUT_MS: '0' })).toThrow(/REDIS_COMMAND_TIMEOUT_MS/);
    expect(() => loadStandaloneConfig({ ...base, REDIS_URL: 'redis://r', REDIS_SESSION_LEASE_TTL_MS: 'soon' })).toThrow(/REDIS_SESSION_LEASE_TTL_MS/);
  });
});
