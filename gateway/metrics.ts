import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

  constructor({ processMetrics = true }: { processMetrics?: boolean } = {}) {
    if (processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'geofed_' });
  }

  recordRequest(status: number, region: string, seconds: number): void {
    this.requests.inc({ status: String(status), region });
    this.operationDuration.observe({ region }, seconds);
  }

  remoteFetch(homeRegion: string): void {
    this.remoteFetches.inc({ home_region: homeRegion });
  }

  subgraphFetchTimer(subgraph: string, region: string): (outcome: 'ok' | 'error') => void {
    const end = this.subgraphFetchDuration.startTimer({ subgraph, region });
    return (outcome) => end({ outcome });
  }
}
