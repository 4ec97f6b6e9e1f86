// Ticket store shared by every gateway instance. One key per ticket, `<prefix>ticket:<id>` where the
// id is the SHA-256 digest of the secret (the secret never reaches Redis), holding the record as
// JSON and expiring with the ticket. Redemption is one atomic command, so exactly one consume wins
// across all instances: GETDEL, or a GET+DEL Lua script on servers older than 6.2.
//
// The outstanding-ticket cap: each project has a sorted set `<prefix>outstanding:<project>` of its
// unredeemed ticket ids scored by expiry (the Redis server's clock). Saving reserves a place in it
// with one script (drop expired, count, add) sent in the same round trip as the ticket's SET;
// redemption removes the id. Every command touches one key, so this works on Redis Cluster too.
// Should a removal be lost (Redis unreachable right after a redemption), the id still counts until
// its ticket's expiry: the cap errs on the side of refusing, never of letting more through.
import { Logger } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-client.js';
import { LUA_SERVER_NOW, RedisScript } from '../redis/redis-script.js';
import { DEFAULT_REDIS_KEY_PREFIX } from '../redis/redis.options.js';
import type { TicketRecord } from './ticket.record.js';
import { OutstandingTicketLimitError, TicketRepository, type TicketSaveOptions } from './ticket.repository.js';

/**
 * How consume takes a ticket. `auto` (default) asks the server its version once (INFO server)
 * and uses GETDEL from 6.2 on, the script before; it also switches to the script for good if the
 * server answers GETDEL with "unknown command" (a renamed command, a proxy, a compatible server).
 */
export type ConsumeStrategy = 'auto' | 'getdel' | 'script';

export interface RedisTicketRepositoryOptions {
  /** Prefix of every key. Default `realtime:`. */
  keyPrefix?: string;
  consumeStrategy?: ConsumeStrategy;
  /** Clock (epoch ms); injectable for tests. */
  now?: () => number;
}

const GET_AND_DELETE = new RedisScript(`
local value = redis.call('GET', KEYS[1])
if value then redis.call('DEL', KEYS[1]) end
return value
`);

/** KEYS[1] outstanding set; ARGV: ticket id, max, ttl ms. 1 = reserved, 0 = the project is full. */
const RESERVE = new RedisScript(`${LUA_SERVER_NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
local expiry = now + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], expiry, ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
`);

export class RedisTicketRepository extends TicketRepository {
  private readonly logger = new Logger(RedisTicketRepository.name);
  private readonly keyPrefix: string;
  private readonly outstandingPrefix: string;
  private readonly now: () => number;
  private strategy: Promise<'getdel' | 'script'> | undefined;

  constructor(
    private readonly client: RedisClient,
    options: RedisTicketRepositoryOptions = {},
  ) {
    super();
    this.keyPrefix = `${options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX}ticket:`;
    this.outstandingPrefix = `${options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX}outstanding:`;
    this.now = options.now ?? Date.now;
    const strategy = options.consumeStrategy ?? 'auto';
    if (strategy !== 'auto') this.strategy = Promise.resolve(strategy);
  }

  /** The Redis key a ticket id is stored under. */
  keyOf(id: string): string {
    return this.keyPrefix + id;
  }

  /** The Redis key of a project's outstanding-ticket set. */
  outstandingKeyOf(projectId: string): string {
    return this.outstandingPrefix + projectId;
  }

  async save(ticket: TicketRecord, options: TicketSaveOptions = {}): Promise<void> {
    // Redis expires the key with the ticket (PX), so a ticket never redeemed leaves nothing behind.
    const ttlMs = Math.max(1, Math.ceil(ticket.expiresAt - this.now()));
    const set = this.client.call('SET', this.keyOf(ticket.id), JSON.stringify(ticket), 'PX', ttlMs, 'NX');
    const max = options.maxOutstandingPerProject;
    if (max === undefined) {
      if ((await set) !== 'OK') throw new Error('ticket id collision');
      return;
    }
    // Both commands leave in one round trip. A refused reservation deletes the ticket it stored: its
    // secret was never handed out, so nobody could have redeemed it in between.
    const outstanding = this.outstandingKeyOf(ticket.projectId);
    const [reserved, stored] = await Promise.allSettled([RESERVE.run(this.client, [outstanding], [ticket.id, max, ttlMs]), set]);
    const ok = reserved.status === 'fulfilled' && Number(reserved.value) === 1 && stored.status === 'fulfilled' && stored.value === 'OK';
    if (ok) return;
    if (stored.status === 'fulfilled' && stored.value === 'OK') this.client.call('DEL', this.keyOf(ticket.id)).catch(() => undefined);
    if (reserved.status === 'fulfilled' && Number(reserved.value) === 1) this.client.call('ZREM', outstanding, ticket.id).catch(() => undefined);
    if (reserved.status === 'rejected') throw reserved.reason;
    if (stored.status === 'rejected') throw stored.reason;
    if (Number(reserved.value) !== 1) throw new OutstandingTicketLimitError(ticket.projectId);
    throw new Error('ticket id collision');
  }

  async consume(id: string): Promise<TicketRecord | null> {
    const value = await this.take(this.keyOf(id));
    if (value === null || value === undefined) return null;
    const ticket = JSON.parse(String(value)) as TicketRecord;
    // No longer outstanding. Not awaited: the redemption is already decided, and a lost removal only
    // keeps the id counted until the ticket's expiry (see the top of this file).
    this.client.call('ZREM', this.outstandingKeyOf(ticket.projectId), id).catch(() => undefined);
    // PX already expired it on the server's clock; this keeps the contract exact on ours too.
    return ticket.expiresAt > this.now() ? ticket : null;
  }

  /** The strategy in use, once known (`auto` until the first consume asked the server). */
  async consumeStrategy(): Promise<'getdel' | 'script'> {
    return (this.strategy ??= this.detectStrategy());
  }

  private async take(key: string): Promise<unknown> {
    if ((await this.consumeStrategy()) === 'script') return GET_AND_DELETE.run(this.client, [key], []);
    try {
      return await this.client.call('GETDEL', key);
    } catch (err) {
      if (!/unknown command/i.test(String((err as Error)?.message))) throw err;
      // An unknown command ran nothing, so taking the ticket with the script now is still exactly-once.
      this.logger.warn('The Redis server does not know GETDEL; consuming tickets with a Lua script from now on');
      this.strategy = Promise.resolve('script');
      return GET_AND_DELETE.run(this.client, [key], []);
    }
  }

  private async detectStrategy(): Promise<'getdel' | 'script'> {
    let info: string;
    try {
      info = String(await this.client.call('INFO', 'server'));
    } catch (err) {
      this.strategy = undefined; // ask again on the next consume
      throw err;
    }
    const version = /^redis_version:(\d+)\.(\d+)/m.exec(info);
    if (!version) return 'getdel'; // unknown server: try GETDEL, fall back on "unknown command"
    const [major, minor] = [Number(version[1]), Number(version[2])];
    return major > 6 || (major === 6 && minor >= 2) ? 'getdel' : 'script';
  }
}
