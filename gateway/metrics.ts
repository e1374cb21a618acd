import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BreakerState } from './circuit-breaker.js';
import type { LimiterLoad, ShedReason } from './fetch-limiter.js';
import type { HealthReport } from './subgraph-health.js';

/**
 * Seconds, for the time of a whole operation: from a cached query answered in
 * a few milliseconds to a fetch deadline (`gateway.subgraph_timeout_ms`, 2 s
 * by default) passed on a forward, and the 10 s past which a client has gone.
 */
export const operationSecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds, for one subgraph fetch: a subgraph on the same host answers in a millisecond or two. */
export const fetchSecondsBuckets = [0.001, 0.0025, ...operationSecondsBuckets];

/** `{ us: 'closed', eu: 'open' }` by subgraph instance, as the serving pipeline's breakers say now. */
type BreakerStatesSource = () => Readonly<Record<string, Readonly<Record<string, BreakerState>>>>;

const breakerStates: readonly BreakerState[] = ['closed', 'half-open', 'open'];

/** The gateway's Prometheus metrics, in a registry of its own (several gateways can share a process in tests). */
export class GatewayMetrics {
  readonly registry = new Registry();

  private readonly requests = new Counter({
    name: 'geofed_http_requests_total',
    help: 'GraphQL HTTP requests by response status and the caller tenant\'s region ("anonymous" without a token).',
    labelNames: ['status', 'region'] as const,
    registers: [this.registry],
  });

  private readonly operationDuration = new Histogram({
    name: 'geofed_operation_duration_seconds',
    help: 'Time from request to response for GraphQL operations.',
    labelNames: ['region'] as const,
    buckets: operationSecondsBuckets,
    registers: [this.registry],
  });

  private readonly subgraphFetchDuration = new Histogram({
    name: 'geofed_subgraph_fetch_duration_seconds',
    help: 'Time of each subgraph fetch of a query plan, by subgraph and the region it was sent to.',
    labelNames: ['subgraph', 'region', 'outcome'] as const,
    buckets: fetchSecondsBuckets,
    registers: [this.registry],
  });

  private readonly remoteFetches = new Counter({
    name: 'geofed_remote_fetch_operations_total',
    help: 'Operations of tenants homed elsewhere run here (routing.remote_execution: fetch), fetching the home region\'s subgraphs across regions.',
    labelNames: ['home_region'] as const,
    registers: [this.registry],
  });

  private readonly fetchesInFlight = new Gauge({
    name: 'geofed_subgraph_fetches_in_flight',
    help: 'Subgraph fetches sent and not yet answered, by subgraph and region (at most subgraph_limits.max_in_flight).',
    labelNames: ['subgraph', 'region'] as const,
    registers: [this.registry],
  });

  private readonly fetchesQueued = new Gauge({
    name: 'geofed_subgraph_fetches_queued',
    help: 'Subgraph fetches waiting for a slot, by subgraph and region (at most subgraph_limits.max_queue).',
    labelNames: ['subgraph', 'region'] as const,
    registers: [this.registry],
  });

  private readonly queueWait = new Histogram({
    name: 'geofed_subgraph_fetch_queue_wait_seconds',
    help: 'Time a subgraph fetch waited for a slot before it was sent (0 when one was free), by subgraph and region.',
    labelNames: ['subgraph', 'region'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  private readonly fetchesShed = new Counter({
    name: 'geofed_subgraph_fetches_shed_total',
    help: 'Subgraph fetches of operations the gateway did not send, answered SUBGRAPH_OVERLOADED: queue_full, or queue_timeout (no slot within subgraph_limits.queue_timeout_ms).',
    labelNames: ['subgraph', 'region', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly fetchesAbandoned = new Counter({
    name: 'geofed_subgraph_fetches_abandoned_total',
    help: 'Subgraph fetches of operations whose client went away while the fetch was queued or in flight.',
    labelNames: ['subgraph', 'region'] as const,
    registers: [this.registry],
  });

  private readonly fetchesDeduplicated = new Counter({
    name: 'geofed_subgraph_fetches_deduplicated_total',
    help: 'Subgraph fetches answered by an identical fetch of the same caller already in flight (subgraph_limits.dedup), so never sent.',
    labelNames: ['subgraph', 'region'] as const,
    registers: [this.registry],
  });

  private readonly subgraphUp = new Gauge({
    name: 'geofed_subgraph_up',
    help: 'Whether the last probe of a subgraph instance found it answering (1) or not (0: down, or refusing the gateway\'s signature), by subgraph and region.',
    labelNames: ['subgraph', 'region'] as const,
    registers: [this.registry],
  });

  private readonly replicaLag = new Gauge({
    name: 'geofed_catalog_replica_lag_bytes',
    help: 'WAL bytes the catalog\'s streaming replica of a region had not replayed at its last health check, as the gateway\'s last probe of the region\'s catalog instance found (the most of its instances); no series while unknown or without a replica.',
    labelNames: ['region'] as const,
    registers: [this.registry],
  });

  private breakers: BreakerStatesSource = () => ({});

  constructor({ processMetrics = true }: { processMetrics?: boolean } = {}) {
    // Node's own names (process_cpu_seconds_total, nodejs_eventloop_lag_seconds…), as every Node dashboard expects them.
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
    const breakersNow = () => this.breakers();
    new Gauge({
      name: 'geofed_circuit_breaker_state',
      help: 'Each subgraph instance\'s circuit breaker per region: 1 on the state it is in now (closed, half-open: one trial may go through, open: failing fast), 0 on the others.',
      labelNames: ['subgraph', 'region', 'state'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [subgraph, regions] of Object.entries(breakersNow())) {
          for (const [region, now] of Object.entries(regions)) for (const state of breakerStates) this.set({ subgraph, region, state }, state === now ? 1 : 0);
        }
      },
    });
  }

  recordRequest(status: number, region: string, seconds: number): void {
    this.requests.inc({ status: String(status), region });
    this.operationDuration.observe({ region }, seconds);
  }

  /** The breakers of the pipeline serving now, read at each scrape (a reload builds new ones). */
  observeBreakers(source: BreakerStatesSource): void {
    this.breakers = source;
  }

  /** One round of probes (subgraph-health.ts): each instance up or not, and each region's catalog replica lag. */
  observeProbes(reports: readonly HealthReport[]): void {
    const lagByRegion = new Map<string, number>();
    for (const report of reports) {
      this.subgraphUp.set({ subgraph: report.subgraph, region: report.region }, report.health === 'up' ? 1 : 0);
      const lag = report.replica?.lagBytes;
      if (lag !== undefined && lag !== null) lagByRegion.set(report.region, Math.max(lag, lagByRegion.get(report.region) ?? 0));
    }
    this.replicaLag.reset();
    for (const [region, bytes] of lagByRegion) this.replicaLag.set({ region }, bytes);
  }

  remoteFetch(homeRegion: string): void {
    this.remoteFetches.inc({ home_region: homeRegion });
  }

  /** `abandoned`: the client went away and the fetch was cancelled; it says nothing of the subgraph. */
  subgraphFetchTimer(subgraph: string, region: string): (outcome: 'ok' | 'error' | 'abandoned') => void {
    const end = this.subgraphFetchDuration.startTimer({ subgraph, region });
    return (outcome) => end({ outcome });
  }

  /** Every series of a subgraph × region's limiter at 0, so dashboards see them before the first shed. */
  fetchLimiterCreated(subgraph: string, region: string): void {
    for (const reason of ['queue_full', 'queue_timeout'] satisfies ShedReason[]) this.fetchesShed.inc({ subgraph, region, reason }, 0);
    this.fetchesAbandoned.inc({ subgraph, region }, 0);
    this.fetchesDeduplicated.inc({ subgraph, region }, 0);
    this.fetchLoad(subgraph, region, { inFlight: 0, queued: 0 });
  }

  fetchLoad(subgraph: string, region: string, { inFlight, queued }: LimiterLoad): void {
    this.fetchesInFlight.set({ subgraph, region }, inFlight);
    this.fetchesQueued.set({ subgraph, region }, queued);
  }

  fetchQueueWait(subgraph: string, region: string, seconds: number): void {
    this.queueWait.observe({ subgraph, region }, seconds);
  }

  fetchShed(subgraph: string, region: string, reason: ShedReason): void {
    this.fetchesShed.inc({ subgraph, region, reason });
  }

  fetchAbandoned(subgraph: string, region: string): void {
    this.fetchesAbandoned.inc({ subgraph, region });
  }

  fetchDeduplicated(subgraph: string, region: string): void {
    this.fetchesDeduplicated.inc({ subgraph, region });
  }
}
