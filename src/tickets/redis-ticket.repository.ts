// Ticket store shared by every gateway instance. One key per ticket, `<prefix>ticket:<id>` where the
// id is the SHA-256 digest of the secret (the secret never reaches Redis), holding the record as
// JSON and expiring with the ticket. Redemption is one atomic command, so exactly one consume wins
// across all instances: GETDEL, or a GET+DEL Lua script on servers older than 6.2.
//
// `redeem` (what the gateway uses at the upgrade) is one Lua script: it checks the ticket's bound
// origins (a wrong origin leaves it in place, unspent) and tells why a ticket was refused, correctly
// across instances: the key is kept `refusalMemoryMs` past the ticket's expiry (an expired ticket is
// still recognised), and a redemption replaces the record with a tombstone (`replayed`, or `expired`
// when it came too late) living to the same instant. The record itself is gone the moment it is spent.
// Beside it, with the ticket's expiry: `<prefix>ticket-id:<public id>` → project and digest (to revoke
// by public id; revocation deletes the ticket key only while it still holds the record, atomically,
// so exactly one of revoke and redeem wins), and `<prefix>mint:<project>:<digest of the
// Idempotency-Key>` → the encrypted mint response.
//
// The outstanding-ticket cap: each project has a sorted set `<prefix>outstanding:<project>` of its
// unredeemed ticket ids scored by expiry (the Redis server's clock); redemption removes the id.
// Should a removal be lost (Redis unreachable right after a redemption), the id still counts until
// its ticket's expiry: the cap errs on the side of refusing.
//
// A mint is one round trip: one script (MINT) reserves the place in the outstanding set (drop
// expired, count, add), stores the ticket and its public-id index, or stores nothing. On Redis
// Cluster, where a script may only touch one slot and these keys are spread over the slots, every
// command touches one key instead: the reservation script and the ticket's SET in one round trip,
// then the index's SET (two round trips).
import { Logger } from '@nestjs/common';
import { isClusterClient, type RedisClient } from '../redis/redis-client.js';
import { pingWithin } from '../redis/redis-ping.js';
import { GET_AND_DELETE, LUA_SERVER_NOW, RedisScript } from '../redis/redis-script.js';
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS, DEFAULT_REDIS_KEY_PREFIX } from '../redis/redis.options.js';
import type { TicketRecord } from './ticket.record.js';
import {
  DEFAULT_REFUSAL_MEMORY_MS,
  OutstandingTicketLimitError,
  TicketRepository,
  type RevokeOutcome,
  type TicketRedemption,
  type TicketSaveOptions,
} from './ticket.repository.js';

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

/**
 * Lua: the checks of the upgrade's redemption. KEYS[1] the ticket key; ARGV[1] now (epoch ms, this
 * instance's clock, as `consume` judges expiry); ARGV[3] the upgrade's canonical origin ('' when
 * none). Returns nil (never stored, or forgotten), a tombstone (`replayed` / `expired`), or 0 when
 * the ticket is live and lists allowed origins of which this is not one (left in place); else falls
 * through with `value` (the record, JSON), `record` (decoded), `expiresAt` and `ticketNow`. The
 * search for the field name only skips decoding records that cannot have it (JSON escapes the
 * quotes of any such text inside a value).
 */
export const LUA_REDEEM_CHECK = `
local value = redis.call('GET', KEYS[1])
if not value then return false end
if string.sub(value, 1, 1) ~= '{' then return value end
local ticketNow = tonumber(ARGV[1])
local record = cjson.decode(value)
local expiresAt = tonumber(record.expiresAt) or 0
if expiresAt > ticketNow and string.find(value, '"allowedOrigins"', 1, true) then
  local origins = record['allowedOrigins']
  if type(origins) == 'table' and #origins > 0 then
    local allowed = false
    for _, origin in ipairs(origins) do
      if origin == ARGV[3] then allowed = true end
    end
    if not allowed then return 0 end
  end
end
`;

/**
 * Lua, after LUA_REDEEM_CHECK: spends the ticket, replacing the record by the tombstone the
 * caller's verdict needs (live: `replayed`; past expiresAt: `expired`), living until ARGV[2] (the
 * refusal memory, ms) past the ticket's expiry.
 */
export const LUA_REDEEM_TAKE = `
local tombstone = 'expired'
if expiresAt > ticketNow then tombstone = 'replayed' end
local ttl = math.floor(expiresAt + tonumber(ARGV[2]) - ticketNow)
if ttl < 1 then ttl = 1 end
redis.call('SET', KEYS[1], tombstone, 'PX', ttl)
`;

/** The upgrade's redemption, atomically: the checks, then the record (which it has spent). */
const REDEEM = new RedisScript(`${LUA_REDEEM_CHECK}${LUA_REDEEM_TAKE}
return value
`);

/** KEYS[1] ticket key. Deletes it while it holds the record (not a tombstone): 1 = revoked, 0 = spent or gone. */
const REVOKE = new RedisScript(`
local value = redis.call('GET', KEYS[1])
if not value or string.sub(value, 1, 1) ~= '{' then return 0 end
redis.call('DEL', KEYS[1])
return 1
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

/**
 * A mint, atomically (not on Cluster): KEYS[1] ticket key, KEYS[2] outstanding set, KEYS[3] public-id
 * index key (absent for a record without a public id); ARGV[1] the record (JSON), ARGV[2] the ticket
 * key's lifetime (ms, the refusal memory included), ARGV[3] the ticket's lifetime (ms), ARGV[4] the
 * cap ('' for none), ARGV[5] the ticket id, ARGV[6] the index entry (JSON). 1 = stored; 0 = the
 * project is full; -1 / -2 = ticket / public id collision. Whatever it refuses, it writes nothing.
 */
const MINT = new RedisScript(`${LUA_SERVER_NOW}
local capped = ARGV[4] ~= ''
if capped then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 0 end
end
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1 then return -2 end
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return -1 end
if KEYS[3] then redis.call('SET', KEYS[3], ARGV[6], 'PX', ARGV[3]) end
if capped then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[5])
  local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[2], last[2])
end
return 1
`);

export class RedisTicketRepository extends TicketRepository {
  private readonly logger = new Logger(RedisTicketRepository.name);
  private readonly basePrefix: string;
  private readonly keyPrefix: string;
  private readonly outstandingPrefix: string;
  private readonly now: () => number;
  private readonly commandTimeoutMs: number;
  private readonly refusalMemoryMs: number;
  private readonly onExpiredUnredeemed: ((count: number) => void) | undefined;
  /** A Redis Cluster client: one key per command (see the file's head). */
  private readonly cluster: boolean;
  private strategy: Promise<'getdel' | 'script'> | undefined;

  constructor(
    private readonly client: RedisClient,
    options: RedisTicketRepositoryOptions = {},
  ) {
    super();
    this.basePrefix = options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX;
    this.keyPrefix = `${this.basePrefix}ticket:`;
    this.outstandingPrefix = `${this.basePrefix}outstanding:`;
    this.now = options.now ?? Date.now;
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
    this.refusalMemoryMs = options.refusalMemoryMs ?? DEFAULT_REFUSAL_MEMORY_MS;
    this.onExpiredUnredeemed = options.onExpiredUnredeemed;
    this.cluster = isClusterClient(client);
    const strategy = options.consumeStrategy ?? 'auto';
    if (strategy !== 'auto') this.strategy = Promise.resolve(strategy);
  }

  /** The Redis key a ticket id is stored under. */
  keyOf(id: string): string {
    return this.keyPrefix + id;
  }

  /** The Redis key of a public ticket id's index entry. */
  publicIdKeyOf(publicId: string): string {
    return `${this.basePrefix}ticket-id:${publicId}`;
  }

  /** The Redis key of a stored mint response (idempotent minting). */
  mintResponseKeyOf(key: string): string {
    return `${this.basePrefix}mint:${key}`;
  }

  /** The Redis key of a project's outstanding-ticket set. */
  outstandingKeyOf(projectId: string): string {
    return this.outstandingPrefix + projectId;
  }

  async save(ticket: TicketRecord, options: TicketSaveOptions = {}): Promise<void> {
    // Redis expires the ticket key (PX) `refusalMemoryMs` after the ticket, so a ticket never
    // redeemed leaves nothing behind, and until then a late redemption is known as `expired`.
    const ttlMs = this.ttlOf(ticket.expiresAt);
    const max = options.maxOutstandingPerProject;
    if (!this.cluster) return this.mint(ticket, ttlMs, max);
    await this.store(ticket, ttlMs, max);
    if (ticket.publicId === undefined) return;
    // Written second: if this fails the mint fails (503) and the ticket, never handed out, expires.
    const index = JSON.stringify({ projectId: ticket.projectId, id: ticket.id });
    const indexed = await this.client.call('SET', this.publicIdKeyOf(ticket.publicId), index, 'PX', ttlMs, 'NX');
    if (indexed !== 'OK') throw new Error('ticket public id collision');
  }

  /** The whole save in one script (MINT), on one Redis or Sentinel. */
  private async mint(ticket: TicketRecord, ttlMs: number, max: number | undefined): Promise<void> {
    const keys = [this.keyOf(ticket.id), this.outstandingKeyOf(ticket.projectId)];
    if (ticket.publicId !== undefined) keys.push(this.publicIdKeyOf(ticket.publicId));
    const index = ticket.publicId === undefined ? '' : JSON.stringify({ projectId: ticket.projectId, id: ticket.id });
    const args = [JSON.stringify(ticket), ttlMs + this.refusalMemoryMs, ttlMs, max ?? '', ticket.id, index];
    const reply = Number(await MINT.run(this.client, keys, args));
    if (reply === 1) return;
    if (reply === 0) throw new OutstandingTicketLimitError(ticket.projectId);
    throw new Error(reply === -2 ? 'ticket public id collision' : 'ticket id collision');
  }

  /** Cluster: the ticket's SET, and with a cap its place in the project's outstanding set, in one round trip. */
  private async store(ticket: TicketRecord, ttlMs: number, max: number | undefined): Promise<void> {
    const set = this.client.call('SET', this.keyOf(ticket.id), JSON.stringify(ticket), 'PX', ttlMs + this.refusalMemoryMs, 'NX');
    if (max === undefined) {
      if ((await set) !== 'OK') throw new Error('ticket id collision');
      return;
    }
    // A refused reservation deletes the ticket it stored: its secret was never handed out, so
    // nobody could have redeemed it in between.
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

  /**
   * A ticket taken (redeemed or revoked) is no longer outstanding. Not awaited: the outcome is
   * already decided, and a lost removal only keeps the id counted until the ticket's expiry.
   */
  private noLongerOutstanding(projectId: string, id: string): void {
    this.client.call('ZREM', this.outstandingKeyOf(projectId), id).catch(() => undefined);
  }

  override async revoke(publicId: string, projectId: string): Promise<RevokeOutcome> {
    const indexKey = this.publicIdKeyOf(publicId);
    const index = await this.client.call('GET', indexKey);
    if (index === null || index === undefined) return 'not_found';
    const entry = JSON.parse(String(index)) as { projectId: string; id: string };
    if (entry.projectId !== projectId) return 'not_found';
    // The revoke and the redemption scripts are each atomic on the same key: one of them wins.
    const deleted = Number(await REVOKE.run(this.client, [this.keyOf(entry.id)], []));
    if (deleted === 1) {
      this.noLongerOutstanding(projectId, entry.id);
      await this.client.call('DEL', indexKey);
      return 'revoked';
    }
    return 'already_redeemed';
  }

  override async saveMintResponse(key: string, value: string, expiresAt: number): Promise<boolean> {
    const reply = await this.client.call('SET', this.mintResponseKeyOf(key), value, 'PX', this.ttlOf(expiresAt), 'NX');
    return reply === 'OK';
  }

  override async findMintResponse(key: string): Promise<string | null> {
    const value = await this.client.call('GET', this.mintResponseKeyOf(key));
    return value === null || value === undefined ? null : String(value);
  }

  private ttlOf(expiresAt: number): number {
    return Math.max(1, Math.ceil(expiresAt - this.now()));
  }

  async consume(id: string): Promise<TicketRecord | null> {
    const value = await this.take(this.keyOf(id));
    if (value === null || value === undefined) return null;
    // A tombstone left by `redeem`: the ticket was spent (or found expired) already.
    if (!String(value).startsWith('{')) return null;
    const ticket = JSON.parse(String(value)) as TicketRecord;
    this.noLongerOutstanding(ticket.projectId, id);
    // PX already expired it on the server's clock; this keeps the contract exact on ours too.
    return ticket.expiresAt > this.now() ? ticket : null;
  }

  override async redeem(id: string, origin?: string): Promise<TicketRedemption> {
    const { keys, args, now } = this.redemptionScriptInput(id, origin);
    const { taken, ...redemption } = this.redemptionOf(await REDEEM.run(this.client, keys, args), now);
    if (taken) this.noLongerOutstanding(taken.projectId, id);
    return redemption;
  }

  /**
   * KEYS and ARGV[1..3] of LUA_REDEEM_CHECK / LUA_REDEEM_TAKE, and the clock reading they carry:
   * for REDEEM, and for the gateway's one-round-trip redemption (gateway/redis-redemption.ts).
   */
  redemptionScriptInput(id: string, origin: string | undefined): { keys: string[]; args: [number, number, string]; now: number } {
    const now = this.now();
    return { keys: [this.keyOf(id)], args: [now, this.refusalMemoryMs, origin ?? ''], now };
  }

  /**
   * What a redemption script's reply means: LUA_REDEEM_CHECK's refusals, or the record it took
   * (`taken`), which is the ticket while it was live at `now`. Counts an expired, never redeemed one.
   */
  redemptionOf(value: unknown, now: number): TicketRedemption & { taken?: TicketRecord } {
    if (value === null || value === undefined) return { refused: 'unknown' };
    if (value === 0) return { refused: 'origin_not_allowed' };
    const text = String(value);
    if (text === 'replayed' || text === 'expired') return { refused: text };
    const taken = JSON.parse(text) as TicketRecord;
    if (taken.expiresAt > now) return { ticket: taken, taken };
    this.onExpiredUnredeemed?.(1);
    return { refused: 'expired', taken };
  }

  /** The client the tickets live on. */
  get redisClient(): RedisClient {
    return this.client;
  }

  /** Whether the client is a Redis Cluster client (one key per command, see the file's head). */
  get onCluster(): boolean {
    return this.cluster;
  }

  /** PING within the command timeout: throws when Redis does not answer PONG in time (readiness). */
  override async ping(): Promise<void> {
    await pingWithin(this.client, this.commandTimeoutMs);
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
