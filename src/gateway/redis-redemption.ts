// One Redis round trip per redemption, when both the ticket store and the session limiter are the
// module's own on one Redis or Sentinel (README "Running several instances"): one Lua script runs
// the ticket store's redemption checks (origin, tombstones for replayed / expired / unknown), reads
// the project from the record, admits the session's lease in that project's lease set (or reports
// the project at its limit), spends the ticket and drops it from the outstanding set.
//
// A ticket refused for the session limit is spent all the same (tombstone `replayed`): the upgrade
// is answered 101 and the session ends with `session_limit_reached` (close 1013), as with every
// other store, where the ticket is consumed before the lease is asked for. A ticket is consumed by
// the upgrade it opens, whatever happens to the session after (docs/protocol.md §2).
//
// The lease and outstanding keys are derived in the script from the record's project, so they are
// not declared in KEYS: Redis allows that outside Cluster. On a Cluster client (keys of one script
// must share a slot, and the project is only known once the ticket is read) and with a host's own
// store or limiter, the gateway keeps two round trips: `redeem`, then `acquire`.
import type { SessionLimiter } from './session-limiter.js';
import { RedisSessionLimiter, LUA_ADMIT_LEASE } from './redis-session-limiter.js';
import { LUA_SERVER_NOW, RedisScript } from '../redis/redis-script.js';
import { LUA_REDEEM_CHECK, LUA_REDEEM_TAKE, RedisTicketRepository } from '../tickets/redis-ticket.repository.js';
import type { TicketRecord } from '../tickets/ticket.record.js';
import type { TicketRepository, TicketRefusal } from '../tickets/ticket.repository.js';

/**
 * KEYS[1] the ticket key; ARGV[1..3] as LUA_REDEEM_CHECK; ARGV[4] the lease-set key prefix, ARGV[5]
 * the session id, ARGV[6] the project's session limit, ARGV[7] the lease TTL (ms), ARGV[8] the
 * outstanding-set key prefix, ARGV[9] the ticket id. Returns LUA_REDEEM_CHECK's refusals as they
 * are, else `{record, admitted}`: admitted 1 = the lease was added, 0 = the project is at its limit
 * or the ticket had expired (no lease either way).
 */
const REDEEM_AND_LEASE = new RedisScript(`${LUA_SERVER_NOW}
${LUA_REDEEM_CHECK}
local admitted = 0
if expiresAt > ticketNow then
  local leases, session, max, ttl = ARGV[4] .. record.projectId, ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
  ${LUA_ADMIT_LEASE}
end
${LUA_REDEEM_TAKE}
redis.call('ZREM', ARGV[8] .. record.projectId, ARGV[9])
return {value, admitted}
`);

/** What the one-round-trip redemption found: the ticket and whether its lease was taken, or why there was none. */
export type LeasedRedemption = { ticket: TicketRecord; leased: boolean } | { refused: TicketRefusal };

export class RedisRedemption {
  private constructor(
    private readonly tickets: RedisTicketRepository,
    private readonly limiter: RedisSessionLimiter,
  ) {}

  /**
   * The one-round-trip redemption for these stores, or undefined when they are not both the
   * built-in Redis ones on one (non-Cluster) client, as they are (not subclassed to redeem or
   * acquire differently).
   */
  static for(tickets: TicketRepository, limiter: SessionLimiter): RedisRedemption | undefined {
    if (!(tickets instanceof RedisTicketRepository) || !(limiter instanceof RedisSessionLimiter)) return undefined;
    if (tickets.redeem !== RedisTicketRepository.prototype.redeem || limiter.acquire !== RedisSessionLimiter.prototype.acquire) return undefined;
    if (tickets.redisClient !== limiter.redisClient || tickets.onCluster) return undefined;
    return new RedisRedemption(tickets, limiter);
  }

  /**
   * Spends the ticket (as `TicketRepository.redeem`) and, when it was live, takes a lease under
   * `sessionId` unless its project holds `max` already. Throws when Redis cannot be reached; a
   * lease taken by a script whose reply was lost expires within one TTL (nobody refreshes it).
   */
  async redeem(id: string, origin: string | undefined, sessionId: string, max: number): Promise<LeasedRedemption> {
    const { keys, args, now } = this.tickets.redemptionScriptInput(id, origin);
    const reply = await REDEEM_AND_LEASE.run(this.tickets.redisClient, keys, [
      ...args,
      this.limiter.keyOf(''),
      sessionId,
      max,
      this.limiter.leaseTtl,
      this.tickets.outstandingKeyOf(''),
      id,
    ]);
    const [value, admitted] = Array.isArray(reply) ? reply : [reply, 0];
    const { taken: _taken, ...redemption } = this.tickets.redemptionOf(value, now);
    if (!('ticket' in redemption)) return redemption;
    const leased = Number(admitted) === 1;
    if (leased) this.limiter.hold(redemption.ticket.projectId, sessionId);
    return { ticket: redemption.ticket, leased };
  }
}
