import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ProbeReport, ProbeSample } from './prober.js';

/**
 * The probes' figures as Prometheus metrics, in the registry given: `geofed probe --watch`'s own, or the
 * gateway's (`probes.watch`). Dashboards compute p95 and error rates from the histogram and the counters;
 * `geofed_probe_slo_breached` is the verdict of the last round, to alert on.
 */
export class ProbeMetrics {
  private readonly duration: Histogram<'region' | 'operation'>;
  private readonly requests: Counter<'region' | 'operation'>;
  private readonly errors: Counter<'region' | 'operation'>;
  private readonly breached: Gauge<'region'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.duration = new Histogram({
      name: 'geofed_probe_duration_seconds',
      help: 'Latency of the synthetic probes that succeeded, by the region whose gateway served them and the probe operation.',
      labelNames: ['region', 'operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.12, 0.15, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.requests = new Counter({ name: 'geofed_probe_requests_total', help: 'Synthetic probe requests sent, by region and probe operation.', labelNames: ['region', 'operation'], registers });
    this.errors = new Counter({ name: 'geofed_probe_errors_total', help: 'Synthetic probe requests that failed (an HTTP error, a GraphQL error, a timeout, no connection), by region and probe operation.', labelNames: ['region', 'operation'], registers });
    this.breached = new Gauge({ name: 'geofed_probe_slo_breached', help: 'Whether the region\'s last probe round breached an SLO of probes.slo (1) or not (0).', labelNames: ['region'], registers });
  }

  sample({ region, operation, ms, error }: ProbeSample): void {
    this.requests.inc({ region, operation });
    if (error === undefined) this.duration.observe({ region, operation }, ms / 1_000);
    else this.errors.inc({ region, operation });
  }

  round(report: ProbeReport): void {
    for (const { region } of report.regions) this.breached.set({ region }, report.breaches.some((b) => b.region === region) ? 1 : 0);
  }
}
