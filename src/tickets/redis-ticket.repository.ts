// Ticket store shared by every gateway instance. One key per ticket, `<prefix>ticket:<id>` where the
// id is the SHA-256 digest of the secret (the secret never reaches Redis), holding the record as
// JSON and expiring with the ticket. Redemption is one atomic command, so exactly one consume wins
// across all instances: GETDEL, or a GET+DEL Lua script on servers older than 6.2.
//
// `redeem` (what the gateway uses) also tells why a ticket was refused, correctly across instances:
// the key is kept `refusalMemoryMs` past the ticket's expiry (an expired ticket is still recognised),
// and a redemption replaces the record, in the same Lua script, with a tombstone (`replayed`, or
// `expired` when it came too late) living to the same instant. Still one key per ticket, so the
// store works unchanged on a cluster; the record itself is gone from Redis the moment it is spent.
import { Logger } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-client.js';
import { RedisScript } from '../redis/redis-script.js';
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS, DEFAULT_REDIS_KEY_PREFIX } from '../redis/redis.options.js';
import type { TicketRecord } from './ticket.record.js';
import { DEFAULT_REFUSAL_MEMORY_MS, TicketRepository, type TicketRedemption } from './ticket.repository.js';

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
  /**
   * Longest wait for `ping()` (ms), whatever the client's own settings (a client passed in by the
   * host may have no command timeout, or queue commands while disconnected). Default 1000.
   */
  commandTimeoutMs?: number;
  /**
   * How long past its expiry a ticket's key is kept, so that a late or repeated redemption is
   * counted as `expired` / `replayed` rather than `unknown`. Default 60 s.
   */
  refusalMemoryMs?: number;
  /**
   * Called when a redemption finds a ticket expired and never redeemed (once per ticket). Tickets
   * that expire with nobody trying them leave Redis silently and are not counted.
   */
  onExpiredUnredeemed?: (count: number) => void;
}

const GET_AND_DELETE = new RedisScript(`
local value = redis.call('GET', KEYS[1])
if value then redis.call('DEL', KEYS[1]) end
return value
`);

/**
 * Redemption with its reason, atomically: KEYS[1] the ticket key; ARGV[1] now (epoch ms, this
 * instance's clock, as `consume` judges expiry); ARGV[2] the refusal memory (ms). Returns nil (never
 * stored, or forgotten), a tombstone (`replayed` / `expired`), or the record, which it has replaced
 * by the tombstone the caller's verdict needs (live: `replayed`; past expiresAt: `expired`).
 */
const REDEEM = new RedisScript(`
local value = redis.call('GET', KEYS[1])
if not value then return false end
if string.sub(value, 1, 1) ~= '{' then return value end
local now = tonumber(ARGV[1])
local expiresAt = tonumber(cjson.decode(value).expiresAt) or 0
local tombstone = 'expired'
if expiresAt > now then tombstone = 'replayed' end
local ttl = math.floor(expiresAt + tonumber(ARGV[2]) - now)
if ttl < 1 then ttl = 1 end
redis.call('SET', KEYS[1], tombstone, 'PX', ttl)
return value
`);

export class RedisTicketRepository extends TicketRepository {
  private readonly logger = new Logger(RedisTicketRepository.name);
  private readonly keyPrefix: string;
  private readonly now: () => number;
  private readonly commandTimeoutMs: number;
  private readonly refusalMemoryMs: number;
  private readonly onExpiredUnredeemed: ((count: number) => void) | undefined;
  private strategy: Promise<'getdel' | 'script'> | undefined;

  constructor(
    private readonly client: RedisClient,
    options: RedisTicketRepositoryOptions = {},
  ) {
    super();
    this.keyPrefix = `${options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX}ticket:`;
    this.now = options.now ?? Date.now;
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
    this.refusalMemoryMs = options.refusalMemoryMs ?? DEFAULT_REFUSAL_MEMORY_MS;
    this.onExpiredUnredeemed = options.onExpiredUnredeemed;
    const strategy = options.consumeStrategy ?? 'auto';
    if (strategy !== 'auto') this.strategy = Promise.resolve(strategy);
  }

  /** The Redis key a ticket id is stored under. */
  keyOf(id: string): string {
    return this.keyPrefix + id;
  }

  async save(ticket: TicketRecord): Promise<void> {
    // Redis expires the key (PX) `refusalMemoryMs` after the ticket, so a ticket never redeemed
    // leaves nothing behind, and until then a late redemption is known as `expired`.
    const ttlMs = Math.max(1, Math.ceil(ticket.expiresAt + this.refusalMemoryMs - this.now()));
    const reply = await this.client.call('SET', this.keyOf(ticket.id), JSON.stringify(ticket), 'PX', ttlMs, 'NX');
    if (reply !== 'OK') throw new Error('ticket id collision');
  }

  async consume(id: string): Promise<TicketRecord | null> {
    const value = await this.take(this.keyOf(id));
    if (value === null || value === undefined) return null;
    // A tombstone left by `redeem`: the ticket was spent (or found expired) already.
    if (!String(value).startsWith('{')) return null;
    const ticket = JSON.parse(String(value)) as TicketRecord;
    // PX already expired it on the server's clock; this keeps the contract exact on ours too.
    return ticket.expiresAt > this.now() ? ticket : null;
  }

  override async redeem(id: string): Promise<TicketRedemption> {
    const now = this.now();
    const value = await REDEEM.run(this.client, [this.keyOf(id)], [now, this.refusalMemoryMs]);
    if (value === null || value === undefined) return { refused: 'unknown' };
    const text = String(value);
    if (text === 'replayed' || text === 'expired') return { refused: text };
    const ticket = JSON.parse(text) as TicketRecord;
    if (ticket.expiresAt > now) return { ticket };
    this.onExpiredUnredeemed?.(1);
    return { refused: 'expired' };
  }

  /** PING within the command timeout: throws when Redis does not answer PONG in time (readiness). */
  override async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer PING within ${this.commandTimeoutMs} ms`)), this.commandTimeoutMs);
    });
    try {
      const reply = await Promise.race([this.client.call('PING'), timeout]);
      if (String(reply) !== 'PONG') throw new Error('Redis answered PING with something other than PONG');
    } finally {
      clearTimeout(timer);
    }
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
