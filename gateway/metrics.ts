import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LimiterLoad, ShedReason } from './fetch-limiter.js';
import type { SubgraphHealth } from './subgraph-health.js';

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
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  private readonly subgraphFetchDuration = new Histogram({
    name: 'geofed_subgraph_fetch_duration_seconds',
    help: 'Time of each subgraph fetch of a query plan, by subgraph and the region it was sent to.',
    labelNames: ['subgraph', 'region', 'outcome'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
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

  constructor({ processMetrics = true }: { processMetrics?: boolean } = {}) {
    if (processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'geofed_' });
  }

  recordRequest(status: number, region: string, seconds: number): void {
    this.requests.inc({ status: String(status), region });
    this.operationDuration.observe({ region }, seconds);
  }

  subgraphHealth(subgraph: string, region: string, health: SubgraphHealth): void {
    this.subgraphUp.set({ subgraph, region }, health === 'up' ? 1 : 0);
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
