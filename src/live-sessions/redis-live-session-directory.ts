// The live-session directory across gateway instances on one Redis.
//
// Per project, one hash `<prefix>live:<project>`: a field per live session (value: its lease expiry
// on the Redis server's clock, `|`, the session as JSON), and a field `!end:<session>` once a backend
// asked to end it. The instance running a session refreshes its entry every third of the lease TTL
// (like the limiter's leases, redis-session-limiter.ts), so the sessions of an instance that died
// drop out of the list within one TTL.
//
// Terminations travel on the channel `<prefix>live:terminate`, on a subscriber connection made
// with the same options as the store's (`duplicate()`). Pub/sub delivers only to connected
// subscribers, so the `!end:` marker is the durable record: an instance re-checks the markers of
// its sessions whenever its subscriber (re)connects, and at every refresh, so a termination that
// arrived while it was disconnected is not missed.
//
// Client resume across instances (README "Client resume"): resume tokens are shared, as
// `<prefix>resume:<sha256 of the token>` → the session's project, id and instance, taken with one
// GET+DEL script (single use across every instance). A resume that lands on another instance
// publishes a hand-over request on `<prefix>live:handover` naming a fresh reply key; the instance
// that runs the session answers by pushing the session's carried-over state onto that key, which
// the asking instance waits for with BLPOP on a connection of its own (`duplicate()`), so no
// instance needs another's address.
import { randomBytes } from 'node:crypto';
import { RefreshLoop } from '../redis/refresh-loop.js';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { isClusterClient, type RedisClient } from '../redis/redis-client.js';
import { GET_AND_DELETE, LUA_SERVER_NOW, RedisScript } from '../redis/redis-script.js';
import { DEFAULT_REDIS_KEY_PREFIX, DEFAULT_SESSION_LEASE_TTL_MS } from '../redis/redis.options.js';
import { LiveSessionDirectory, type LiveSession, type ResumeTarget } from './live-session-directory.js';

export interface RedisLiveSessionDirectoryOptions {
  /** Prefix of every key (and of the channel). Default `realtime:`. */
  keyPrefix?: string;
  /** Lifetime of an entry that is not refreshed. Default 30 s (the session lease TTL). */
  leaseTtlMs?: number;
  /** How often held entries are refreshed (and termination markers re-checked). Default a third of the TTL. */
  refreshIntervalMs?: number;
}

const END_MARK = '!end:';
/** How long a hand-over reply waits for its reader (it is read at once, or its reader gave up). */
const REPLY_TTL_MS = 30_000;


/** KEYS[1] reply list; ARGV: the carried-over state, its ttl ms. */
const REPLY = new RedisScript(`
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
`);

/** KEYS[1] project hash; ARGV: ttl ms, then session id / JSON pairs. Writes (or re-writes) the entries; returns the ids marked to end. */
const PUT = new RedisScript(`${LUA_SERVER_NOW}
local expiry = now + tonumber(ARGV[1])
local ended = {}
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], expiry .. '|' .. ARGV[i + 1])
  if redis.call('HEXISTS', KEYS[1], '${END_MARK}' .. ARGV[i]) == 1 then table.insert(ended, ARGV[i]) end
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return ended
`);

/** KEYS[1] project hash. The live entries' JSON; drops lapsed entries (and their markers). */
const LIST = new RedisScript(`${LUA_SERVER_NOW}
local all = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #all, 2 do
  local field, value = all[i], all[i + 1]
  if string.sub(field, 1, ${END_MARK.length}) ~= '${END_MARK}' then
    local bar = string.find(value, '|', 1, true)
    if bar and tonumber(string.sub(value, 1, bar - 1)) > now then
      table.insert(live, string.sub(value, bar + 1))
    else
      redis.call('HDEL', KEYS[1], field, '${END_MARK}' .. field)
    end
  end
end
return live
`);

/** KEYS[1] project hash; ARGV[1] session id. 1 and a marker when the session is live, else 0. */
const MARK_ENDED = new RedisScript(`${LUA_SERVER_NOW}
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then return 0 end
local bar = string.find(value, '|', 1, true)
if not bar or tonumber(string.sub(value, 1, bar - 1)) <= now then return 0 end
redis.call('HSET', KEYS[1], '${END_MARK}' .. ARGV[1], '1')
return 1
`);

export class RedisLiveSessionDirectory extends LiveSessionDirectory implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisLiveSessionDirectory.name);
  private readonly keyPrefix: string;
  private readonly prefix: string;
  readonly channel: string;
  /** Hand-over requests (client resume across instances). */
  readonly handOverChannel: string;
  private readonly leaseTtlMs: number;
  private readonly refreshIntervalMs: number;
  /** Sessions this instance runs: project → session id → entry. */
  private readonly held = new Map<string, Map<string, LiveSession>>();
  private subscriber: RedisClient | undefined;
  private readonly refreshLoop: RefreshLoop;
  private closed = false;
  /** Times the subscriber became ready (the first is the initial connection); for tests and logs. */
  subscriberReadyCount = 0;

  constructor(
    private readonly client: RedisClient,
    options: RedisLiveSessionDirectoryOptions = {},
  ) {
    super();
    const prefix = options.keyPrefix ?? DEFAULT_REDIS_KEY_PREFIX;
    this.keyPrefix = `${prefix}live:`;
    this.channel = `${prefix}live:terminate`;
    this.handOverChannel = `${prefix}live:handover`;
    this.prefix = prefix;
    this.leaseTtlMs = options.leaseTtlMs ?? DEFAULT_SESSION_LEASE_TTL_MS;
    this.refreshIntervalMs = options.refreshIntervalMs ?? Math.max(1, Math.floor(this.leaseTtlMs / 3));
    this.refreshLoop = new RefreshLoop(() => this.refresh(), this.refreshIntervalMs);
    this.subscribe();
  }

  private resumeKeyOf(digest: string): string {
    return `${this.prefix}resume:${digest}`;
  }

  /** The Redis key of a project's hash. */
  keyOf(projectId: string): string {
    return this.keyPrefix + projectId;
  }

  async register(session: LiveSession): Promise<void> {
    const sessions = this.held.get(session.projectId) ?? new Map<string, LiveSession>();
    sessions.set(session.sessionId, session);
    this.held.set(session.projectId, sessions);
    if (!this.closed) this.refreshLoop.start();
    const ended = await PUT.run(this.client, [this.keyOf(session.projectId)], [this.leaseTtlMs, session.sessionId, JSON.stringify(session)]);
    this.deliverMarked(session.projectId, ended);
  }

  async unregister(projectId: string, sessionId: string): Promise<void> {
    const sessions = this.held.get(projectId);
    sessions?.delete(sessionId);
    if (sessions?.size === 0) this.held.delete(projectId);
    if (this.held.size === 0) this.refreshLoop.stop();
    // If this fails, the entry is no longer refreshed and lapses within one TTL.
    await this.client.call('HDEL', this.keyOf(projectId), sessionId, END_MARK + sessionId);
  }

  async list(projectId: string): Promise<LiveSession[]> {
    const entries = (await LIST.run(this.client, [this.keyOf(projectId)], [])) as unknown[];
    return entries.map((entry) => JSON.parse(String(entry)) as LiveSession);
  }

  async terminate(projectId: string, sessionId: string): Promise<boolean> {
    const marked = Number(await MARK_ENDED.run(this.client, [this.keyOf(projectId)], [sessionId])) === 1;
    if (!marked) return false;
    // The marker is the durable record; the message only makes it fast. A failed publish is
    // caught up by the owner's next refresh.
    await this.client.call('PUBLISH', this.channel, JSON.stringify({ projectId, sessionId })).catch((err: Error) => {
      this.logger.warn(`Termination of ${sessionId} recorded but not published (${err?.message}); its instance sees it at its next refresh`);
    });
    return true;
  }

  override async saveResumeToken(digest: string, target: ResumeTarget, ttlMs: number): Promise<void> {
    await this.client.call('SET', this.resumeKeyOf(digest), JSON.stringify(target), 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  override async takeResumeToken(digest: string): Promise<ResumeTarget | undefined> {
    const value = await GET_AND_DELETE.run(this.client, [this.resumeKeyOf(digest)], []);
    if (typeof value !== 'string' && !Buffer.isBuffer(value)) return undefined;
    return JSON.parse(String(value)) as ResumeTarget;
  }

  override async dropResumeToken(digest: string): Promise<void> {
    await this.client.call('DEL', this.resumeKeyOf(digest));
  }

  /**
   * Publishes the request, then waits (BLPOP, on a connection of its own) for the owner's reply.
   * Undefined when nobody is subscribed, the owner does not answer within `timeoutMs` (it died, or
   * its subscriber is reconnecting), or it answered that the session is ending.
   */
  override async requestHandOver(target: ResumeTarget, timeoutMs: number): Promise<string | undefined> {
    if (typeof this.client.duplicate !== 'function') return undefined;
    const reply = `${this.prefix}handover:${randomBytes(16).toString('hex')}`;
    const receivers = Number(await this.client.call('PUBLISH', this.handOverChannel, JSON.stringify({ projectId: target.projectId, sessionId: target.sessionId, reply })));
    if (receivers === 0) return undefined;
    // Whole seconds: fractional BLPOP timeouts need Redis 6. The waiter's own command and socket
    // timeouts must outlast the wait (the shared ones are short, to fail closed quickly).
    const waitSeconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    const limits = { commandTimeout: waitSeconds * 1000 + 2000, socketTimeout: waitSeconds * 1000 + 2000 };
    const waiter = isClusterClient(this.client) ? this.client.duplicate([], { redisOptions: limits }) : this.client.duplicate(limits);
    waiter.on('error', () => undefined);
    try {
      if (waiter.status === 'wait') await waiter.connect();
      const popped = (await waiter.call('BLPOP', reply, waitSeconds)) as [string, string] | null;
      const state = popped ? String(popped[1]) : '';
      return state === '' ? undefined : state;
    } finally {
      waiter.disconnect();
    }
  }

  /** Re-writes this instance's entries and ends those marked to end. Called by the timer and on reconnect. */
  async refresh(): Promise<void> {
    const projects = [...this.held].map(([projectId, sessions]) => [projectId, [...sessions.values()]] as const);
    await Promise.all(
      projects.map(async ([projectId, sessions]) => {
        const args = sessions.flatMap((s) => [s.sessionId, JSON.stringify(s)]);
        try {
          this.deliverMarked(projectId, await PUT.run(this.client, [this.keyOf(projectId)], [this.leaseTtlMs, ...args]));
        } catch (err) {
          this.logger.warn(`Live sessions could not be refreshed (${(err as Error)?.message}); retrying`);
        }
      }),
    );
  }

  close(): void {
    this.closed = true;
    this.refreshLoop.stop();
    this.held.clear();
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }

  onApplicationShutdown(): void {
    this.close();
  }

  private deliverMarked(projectId: string, ended: unknown): void {
    if (!Array.isArray(ended)) return;
    for (const sessionId of ended) this.deliverIfHeld(projectId, String(sessionId));
  }

  private deliverIfHeld(projectId: string, sessionId: string): void {
    if (this.held.get(projectId)?.has(sessionId)) this.deliver(projectId, sessionId);
  }

  /** Another instance asks for a session: the one running it pushes the state onto the reply key. */
  private answerHandOver(message: string): void {
    let request: { projectId: string; sessionId: string; reply: string };
    try {
      request = JSON.parse(message) as typeof request;
      if (typeof request.reply !== 'string' || !request.reply.startsWith(`${this.prefix}handover:`)) return;
    } catch {
      return;
    }
    this.handOver(String(request.projectId), String(request.sessionId)).then(
      (state) => {
        if (state === undefined) return;
        return REPLY.run(this.client, [request.reply], [state, REPLY_TTL_MS]).then(() => undefined);
      },
      (err: Error) => this.logger.warn(`Session ${request.sessionId} could not be handed over: ${err?.message}`),
    ).catch((err: Error) => this.logger.warn(`Hand-over of ${request.sessionId} not delivered: ${err?.message}`));
  }

  private subscribe(): void {
    if (typeof this.client.duplicate !== 'function') {
      this.logger.warn(
        `The Redis client cannot be duplicated for a subscription: remote terminations reach this instance at its next refresh (every ${this.refreshIntervalMs} ms)`,
      );
      return;
    }
    const subscriber = this.client.duplicate();
    this.subscriber = subscriber;
    // Errors are the main connection's to report; the subscriber reconnects by itself.
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.handOverChannel) return this.answerHandOver(message);
      if (channel !== this.channel) return;
      try {
        const { projectId, sessionId } = JSON.parse(message) as { projectId: string; sessionId: string };
        this.deliverIfHeld(String(projectId), String(sessionId));
      } catch {
        // not ours
      }
    });
    subscriber.on('ready', () => {
      if (this.closed) return;
      this.subscriberReadyCount += 1;
      subscriber.call('SUBSCRIBE', this.channel, this.handOverChannel).then(
        // Subscribed (again): whatever was published while it was away is in the markers.
        () => this.refresh(),
        (err: Error) => this.logger.warn(`Could not subscribe to ${this.channel}: ${err?.message}`),
      );
    });
    if (subscriber.status === 'wait') subscriber.connect().catch(() => undefined);
  }

}
