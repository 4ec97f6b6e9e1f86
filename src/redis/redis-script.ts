// A Lua script run by digest (EVALSHA), sent in full (EVAL) only when the server does not have it
// cached yet: after a restart, a failover, or on a cluster node that never ran it.
import { createHash } from 'node:crypto';
import type { RedisArgument, RedisClient } from './redis-client.js';

export class RedisScript {
  readonly sha1: string;

  constructor(readonly lua: string) {
    this.sha1 = createHash('sha1').update(lua).digest('hex');
  }

  async run(client: RedisClient, keys: string[], args: RedisArgument[]): Promise<unknown> {
    try {
      return await client.call('EVALSHA', this.sha1, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err;
      return client.call('EVAL', this.lua, keys.length, ...keys, ...args);
    }
  }
}

/** Lua lines that set `now` to the server's clock in ms, so instances never compare their own clocks. */
export const LUA_SERVER_NOW = `
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/** KEYS[1]: its value, once (the key is gone afterwards): GETDEL on any server version. */
export const GET_AND_DELETE = new RedisScript(`
local value = redis.call('GET', KEYS[1])
if value then redis.call('DEL', KEYS[1]) end
return value
`);
