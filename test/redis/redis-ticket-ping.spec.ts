// RedisTicketRepository.ping against a real redis-server: PONG when up; a stopped server or a
// frozen one (SIGSTOP) fails within the command timeout, even through a client with no timeout and
// an offline queue of its own; ping answers again once the server is back.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RedisTicketRepository } from '../../src/index.js';
import { RedisConnection } from '../../src/redis/redis-connection.js';
import { describeWithRedis, describeWithRedisProcess, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

Logger.overrideLogger(false);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(fn: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}

async function elapsed(fn: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  try {
    await fn();
    return { ms: Date.now() - started, error: undefined };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

describeWithRedis('RedisTicketRepository.ping', () => {
  let server: RedisServer;
  let connection: RedisConnection;

  beforeAll(async () => {
    server = await startRedisServer();
    connection = await RedisConnection.open({ url: server.url, commandTimeoutMs: 200 });
  });

  afterAll(async () => {
    await connection?.close();
    await server?.close();
  });

  it('resolves while Redis answers', async () => {
    await expect(new RedisTicketRepository(connection.client).ping()).resolves.toBeUndefined();
  });
});

describeWithRedisProcess('RedisTicketRepository.ping when Redis fails', () => {
  let server: RedisServer;
  let connection: RedisConnection;
  let lenient: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    connection = await RedisConnection.open({ url: server.url, commandTimeoutMs: 200 });
    // What a host app might pass in: no command timeout, commands queued while disconnected.
    lenient = new Redis(server.url, { lazyConnect: true, retryStrategy: () => 50 });
    lenient.on('error', () => undefined);
    await lenient.connect();
  });

  afterAll(async () => {
    await connection?.close();
    lenient?.disconnect();
    await server?.close();
  });

  it('fails within the command timeout while the server is frozen, and answers again once it thaws', async () => {
    const fast = new RedisTicketRepository(connection.client, { commandTimeoutMs: 200 });
    const hostClient = new RedisTicketRepository(lenient, { commandTimeoutMs: 300 });
    server.pause();
    try {
      const a = await elapsed(() => fast.ping());
      const b = await elapsed(() => hostClient.ping());
      expect(a.error).toBeInstanceOf(Error);
      expect(b.error).toBeInstanceOf(Error);
      expect(String((b.error as Error).message)).toMatch(/did not answer PING within 300 ms/);
      expect(a.ms).toBeLessThan(1000);
      expect(b.ms).toBeGreaterThanOrEqual(290);
      expect(b.ms).toBeLessThan(1000);
    } finally {
      server.resume();
    }
    await eventually(() => fast.ping());
    await eventually(() => hostClient.ping());
  });

  it('fails while the server is down and answers again once it is back', async () => {
    const repo = new RedisTicketRepository(connection.client, { commandTimeoutMs: 200 });
    const hostClient = new RedisTicketRepository(lenient, { commandTimeoutMs: 200 });
    await server.stop();
    const a = await elapsed(() => repo.ping());
    const b = await elapsed(() => hostClient.ping());
    expect(a.error).toBeInstanceOf(Error);
    expect(b.error).toBeInstanceOf(Error);
    expect(a.ms).toBeLessThan(1000);
    expect(b.ms).toBeLessThan(1000);
    await server.start();
    await eventually(() => repo.ping());
    await eventually(() => hostClient.ping());
  });
});
