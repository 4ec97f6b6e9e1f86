// Every Prometheus metric of the gateway, behind one small typed method per observation, so the
// call sites (mint, redemption, session, relay) never see prom-client or label names. Built
// disabled (`RealtimeMetrics.disabled()`), nothing is registered and every method returns at once.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import {
  CODE_LABELS,
  FIELD_LABELS,
  LabelSet,
  REDEMPTION_LABELS,
  RELAY_DIRECTIONS,
  SIDE_LABELS,
  statusLabel,
  type RedemptionOutcome,
  type RelayDirection,
  type SlowConsumerSide,
} from './metric-labels.js';

export interface RealtimeMetricsOptions {
  /** Default true. False: nothing is registered, every method is a no-op. */
  enabled?: boolean;
  /** Register into this registry (a host app's); default: a registry of this instance's own. */
  registry?: Registry;
  /** Collect prom-client's default process metrics into the registry (once per registry). Default true. */
  defaultMetrics?: boolean;
  /** Model ids allowed as label values (the catalogue's realtime models); any other becomes `other`. */
  models?: readonly string[];
  /** Provider names allowed as label values (the configured plugins); any other becomes `other`. */
  providers?: readonly string[];
}

/** Buckets (seconds) for a ticket's wait between mint and redemption (TTL is at most 300 s). */
export const MINT_TO_REDEMPTION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Buckets (seconds) for session durations: seconds to the 30-minute default maximum and beyond. */
export const SESSION_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];
/** Buckets (seconds) for upstream connection set-up. */
export const UPSTREAM_CONNECT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

/** Metric names, one place (Prometheus conventions: `_total` counters, base units). */
export const METRIC_NAMES = {
  mints: 'realtime_ticket_mints_total',
  redemptions: 'realtime_ticket_redemptions_total',
  mintToRedemption: 'realtime_ticket_mint_to_redemption_seconds',
  expiredUnredeemed: 'realtime_tickets_expired_unredeemed_total',
  sessionsActive: 'realtime_sessions_active',
  sessionDuration: 'realtime_session_duration_seconds',
  relayedFrames: 'realtime_relayed_frames_total',
  relayedBytes: 'realtime_relayed_bytes_total',
  upstreamConnect: 'realtime_upstream_connect_seconds',
  upstreamConnectFailures: 'realtime_upstream_connect_failures_total',
  fieldLocked: 'realtime_field_locked_total',
  slowConsumer: 'realtime_slow_consumer_terminations_total',
  resumes: 'realtime_session_resumes_total',
  warmParked: 'realtime_warm_upstreams_active',
  warmTakes: 'realtime_warm_upstream_takes_total',
} as const;

/** How a resume upgrade ended: re-attached here, taken over from another instance, or refused (401/403/503). */
export type ResumeOutcome = 'local' | 'handed_over' | 'refused' | 'unavailable';
const RESUME_OUTCOMES: ResumeOutcome[] = ['local', 'handed_over', 'refused', 'unavailable'];

/** Registries that already collect the default process metrics (through this class or by hand). */
const withDefaultMetrics = new WeakSet<Registry>();

export class RealtimeMetrics {
  /** The registry the metrics live in (an empty one of its own when disabled). */
  readonly registry: Registry;
  readonly enabled: boolean;

  private readonly providers: LabelSet;
  private readonly models: LabelSet;

  private readonly mints!: Counter<'status' | 'code'>;
  private readonly redemptions!: Counter<'outcome'>;
  private readonly mintToRedemptionSeconds!: Histogram<never>;
  private readonly expiredUnredeemed!: Counter<never>;
  private readonly sessionsActive!: Gauge<'provider' | 'model'>;
  private readonly sessionDuration!: Histogram<'provider' | 'end_reason'>;
  private readonly upstreamConnectSeconds!: Histogram<'provider'>;
  private readonly upstreamConnectFailures!: Counter<'provider' | 'code'>;
  private readonly fieldLockedTotal!: Counter<'field'>;
  private readonly slowConsumerTotal!: Counter<'side'>;
  private readonly resumesTotal!: Counter<'outcome'>;
  private readonly warmTakesTotal!: Counter<'result'>;
  /** Per direction, frames and bytes not yet handed to prom-client (the relay path is hot). */
  private readonly relay!: RelayTallies;

  constructor(options: RealtimeMetricsOptions = {}) {
    this.enabled = options.enabled ?? true;
    this.registry = options.registry ?? new Registry();
    this.providers = new LabelSet(options.providers ?? []);
    this.models = new LabelSet(options.models ?? []);
    if (!this.enabled) return;

    const registry = this.registry;
    if (options.defaultMetrics ?? true) registerDefaultMetrics(registry);
    this.mints = counter(registry, METRIC_NAMES.mints, 'Ticket mint requests (POST /v3/realtime-sessions) by HTTP status and error code (ok on success).', ['status', 'code']);
    this.redemptions = counter(registry, METRIC_NAMES.redemptions, 'Ticket redemptions at WebSocket upgrade by outcome.', ['outcome']);
    this.mintToRedemptionSeconds = histogram(registry, METRIC_NAMES.mintToRedemption, 'Time from a ticket being minted to its redemption.', [], MINT_TO_REDEMPTION_BUCKETS);
    this.expiredUnredeemed = counter(registry, METRIC_NAMES.expiredUnredeemed, 'Tickets that expired without being redeemed.', []);
    this.sessionsActive = gauge(registry, METRIC_NAMES.sessionsActive, 'Live realtime sessions by provider and model.', ['provider', 'model']);
    this.sessionDuration = histogram(registry, METRIC_NAMES.sessionDuration, 'Duration of ended sessions by provider and end reason.', ['provider', 'end_reason'], SESSION_DURATION_BUCKETS);
    // Every frame adds to two plain numbers; the counters take the sums when they are collected
    // (a scrape). A prom-client inc costs a label hash per call, ~200 ns, on a path taken for
    // every audio frame. The tallies belong to the registry, like the counters that read them.
    const relay = relayTalliesOf(registry);
    const frames = counter(registry, METRIC_NAMES.relayedFrames, 'WebSocket frames relayed on client sockets, by direction.', ['direction'], function (this: Counter<'direction'>) {
      flushRelay(relay, this, 'frames');
    });
    const bytes = counter(registry, METRIC_NAMES.relayedBytes, 'Bytes of WebSocket frames relayed on client sockets, by direction.', ['direction'], function (this: Counter<'direction'>) {
      flushRelay(relay, this, 'bytes');
    });
    this.upstreamConnectSeconds = histogram(registry, METRIC_NAMES.upstreamConnect, 'Time to connect an upstream provider session until it is ready.', ['provider'], UPSTREAM_CONNECT_BUCKETS);
    this.upstreamConnectFailures = counter(registry, METRIC_NAMES.upstreamConnectFailures, 'Upstream connections that failed, by provider and error code.', ['provider', 'code']);
    this.fieldLockedTotal = counter(registry, METRIC_NAMES.fieldLocked, 'field_locked refusals: client changes to ticket-bound fields that were overridden, by field.', ['field']);
    this.slowConsumerTotal = counter(registry, METRIC_NAMES.slowConsumer, 'Sessions terminated because one side did not keep up (slow_consumer), by side.', ['side']);

    this.resumesTotal = counter(registry, METRIC_NAMES.resumes, 'Client resumes (opper-resume upgrades) by outcome: local, handed_over (from another instance), refused, unavailable (store down).', ['outcome']);
    for (const outcome of RESUME_OUTCOMES) this.resumesTotal.inc({ outcome }, 0);
    this.warmTakesTotal = counter(registry, METRIC_NAMES.warmTakes, 'Upstream connects of warmed models: warm (a parked socket was used) or cold (none was parked).', ['result']);
    const parkedSources = warmSourcesOf(registry);
    if (!existing(registry, METRIC_NAMES.warmParked, Gauge)) {
      new Gauge({
        name: METRIC_NAMES.warmParked,
        help: 'Pre-connected upstream sockets parked, ready for a session (warm upstreams).',
        registers: [registry],
        collect(this: Gauge) {
          let parked = 0;
          for (const source of parkedSources) parked += source();
          this.set(parked);
        },
      });
    }

    for (const direction of RELAY_DIRECTIONS) {
      // Both directions show up at 0 from the first scrape.
      frames.inc({ direction }, 0);
      bytes.inc({ direction }, 0);
    }
    this.relay = relay;
    this.expiredUnredeemed.inc(0);
  }

  /** An instance that registers nothing and records nothing (metrics off). */
  static disabled(): RealtimeMetrics {
    return new RealtimeMetrics({ enabled: false });
  }

  /** The exposition text of the registry (every metric in it, the host's included). */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** A mint request answered with `status`; `code` is the error code (`ok` when omitted on a 2xx). */
  mint(status: number, code?: string): void {
    if (!this.enabled) return;
    this.mints.inc({ status: statusLabel(status), code: code === undefined && status >= 200 && status < 300 ? 'ok' : CODE_LABELS.clamp(code) });
  }

  /** An upgrade that presented a ticket (or tried to), by outcome. */
  redemption(outcome: RedemptionOutcome): void {
    if (!this.enabled) return;
    this.redemptions.inc({ outcome: REDEMPTION_LABELS.clamp(outcome) });
  }

  /** Seconds between the ticket's mint (`createdAt`) and its successful redemption. */
  mintToRedemption(seconds: number): void {
    if (!this.enabled || !Number.isFinite(seconds)) return;
    this.mintToRedemptionSeconds.observe(Math.max(0, seconds));
  }

  /** Tickets found expired and never redeemed (a sweep, or a consume after expiry). */
  ticketExpiredUnredeemed(count = 1): void {
    if (!this.enabled || !(count > 0)) return;
    this.expiredUnredeemed.inc(count);
  }

  /** A session went live (after `session.started`). Pair with exactly one `sessionClosed`. */
  sessionOpened(provider: string, model: string): void {
    if (!this.enabled) return;
    this.sessionsActive.inc({ provider: this.providers.clamp(provider), model: this.models.clamp(model) });
  }

  /** A session opened with `sessionOpened(provider, model)` ended after `seconds`, for `endReason`. */
  sessionClosed(provider: string, model: string, endReason: string, seconds: number): void {
    if (!this.enabled) return;
    const p = this.providers.clamp(provider);
    this.sessionsActive.dec({ provider: p, model: this.models.clamp(model) });
    if (Number.isFinite(seconds)) this.sessionDuration.observe({ provider: p, end_reason: CODE_LABELS.clamp(endReason) }, Math.max(0, seconds));
  }

  /**
   * A session opened here was handed over to another instance (client resume there): it is no
   * longer live here, and its duration is observed where it ends.
   */
  sessionHandedOver(provider: string, model: string): void {
    if (!this.enabled) return;
    this.sessionsActive.dec({ provider: this.providers.clamp(provider), model: this.models.clamp(model) });
  }

  /** A resume upgrade ended with `outcome`. */
  resume(outcome: ResumeOutcome): void {
    if (!this.enabled) return;
    this.resumesTotal.inc({ outcome });
  }

  /** A warmed model's upstream connect found a parked socket (`warm`) or none (`cold`). */
  warmUpstreamTake(warm: boolean): void {
    if (!this.enabled) return;
    this.warmTakesTotal.inc({ result: warm ? 'warm' : 'cold' });
  }

  /** Reports a warm-upstream pool's parked sockets in `realtime_warm_upstreams_parked` (summed over pools). */
  watchWarmUpstreams(parked: () => number): () => void {
    if (!this.enabled) return () => undefined;
    const sources = warmSourcesOf(this.registry);
    sources.add(parked);
    return () => sources.delete(parked);
  }

  /** One frame of `bytes` relayed on a client socket. Cheap: called for every audio frame. */
  relayed(direction: RelayDirection, bytes: number): void {
    if (!this.enabled) return;
    const tally = this.relay[direction];
    if (!tally) return;
    tally.frames += 1;
    if (bytes > 0) tally.bytes += bytes;
  }

  /** The upstream of `provider` became ready after `seconds`. */
  upstreamConnected(provider: string, seconds: number): void {
    if (!this.enabled || !Number.isFinite(seconds)) return;
    this.upstreamConnectSeconds.observe({ provider: this.providers.clamp(provider) }, Math.max(0, seconds));
  }

  /** Connecting the upstream of `provider` failed with error code `code` (e.g. `upstream_unavailable`). */
  upstreamConnectFailed(provider: string, code: string): void {
    if (!this.enabled) return;
    this.upstreamConnectFailures.inc({ provider: this.providers.clamp(provider), code: CODE_LABELS.clamp(code) });
  }

  /** A client change to the ticket-bound `field` was overridden (one `field_locked` error event). */
  fieldLocked(field: string): void {
    if (!this.enabled) return;
    this.fieldLockedTotal.inc({ field: FIELD_LABELS.clamp(field) });
  }

  /** A session was terminated with `slow_consumer` because `side` did not keep up. */
  slowConsumer(side: SlowConsumerSide): void {
    if (!this.enabled) return;
    this.slowConsumerTotal.inc({ side: SIDE_LABELS.clamp(side) });
  }
}

type RelayTallies = Record<RelayDirection, { frames: number; bytes: number }>;

/** Parked-socket counts of the warm-upstream pools reporting to a registry. */
const warmSources = new WeakMap<Registry, Set<() => number>>();

function warmSourcesOf(registry: Registry): Set<() => number> {
  let sources = warmSources.get(registry);
  if (!sources) {
    sources = new Set();
    warmSources.set(registry, sources);
  }
  return sources;
}

/** Relay tallies per registry: every instance on one registry adds to the same ones. */
const relayTallies = new WeakMap<Registry, RelayTallies>();

function relayTalliesOf(registry: Registry): RelayTallies {
  let tallies = relayTallies.get(registry);
  if (!tallies) {
    tallies = { client_to_upstream: { frames: 0, bytes: 0 }, upstream_to_client: { frames: 0, bytes: 0 } };
    relayTallies.set(registry, tallies);
  }
  return tallies;
}

/** Moves the pending `field` tallies into `target` (a counter's collect, run at each scrape). */
function flushRelay(tallies: RelayTallies, target: Counter<'direction'>, field: 'frames' | 'bytes'): void {
  for (const direction of RELAY_DIRECTIONS) {
    const pending = tallies[direction][field];
    if (pending === 0) continue;
    tallies[direction][field] = 0;
    target.inc({ direction }, pending);
  }
}

/** Collects the default process metrics into `registry` unless it already does. */
export function registerDefaultMetrics(registry: Registry): void {
  if (withDefaultMetrics.has(registry)) return;
  withDefaultMetrics.add(registry);
  // A host that called collectDefaultMetrics itself already has them: registering twice throws.
  if (registry.getSingleMetric('process_cpu_user_seconds_total')) return;
  collectDefaultMetrics({ register: registry });
}

/**
 * The metric named `name` in `registry`, created when absent. Two instances on one registry (two
 * apps in one process sharing a host registry) share the metric instead of failing to register.
 */
function existing<T>(registry: Registry, name: string, type: abstract new (...args: any[]) => T): T | undefined {
  const found: Metric | undefined = registry.getSingleMetric(name);
  if (found === undefined) return undefined;
  if (!(found instanceof type)) throw new Error(`RealtimeMetrics: the registry already has a metric "${name}" of another type`);
  return found as T;
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[], collect?: (this: Counter<L>) => void): Counter<L> {
  return (existing(registry, name, Counter) as Counter<L> | undefined) ?? new Counter<L>({ name, help, labelNames, registers: [registry], collect });
}

function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Gauge<L> {
  return (existing(registry, name, Gauge) as Gauge<L> | undefined) ?? new Gauge<L>({ name, help, labelNames, registers: [registry] });
}

function histogram<L extends string>(registry: Registry, name: string, help: string, labelNames: L[], buckets: number[]): Histogram<L> {
  return (existing(registry, name, Histogram) as Histogram<L> | undefined) ?? new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] });
}
