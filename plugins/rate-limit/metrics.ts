import { Counter, Histogram, type CounterConfiguration, type HistogramConfiguration, type Registry } from 'prom-client';
import { registeredMetric } from '../../runtime/registered-metric.js';
import { SpentBucketsGauge } from './spent-buckets.js';

/**
 * What the budgets decided of an operation: `allowed` and `limited` by the
 * shared store's buckets (in measure mode a `limited` one is served all the
 * same), `fallback` when the store could not answer in time and the local
 * share or on_store_error decided (geofed_rate_limit_fallback_debits_total
 * and geofed_rate_limit_store_error_refusals_total say how).
 */
export type RateLimitDecision = 'allowed' | 'limited' | 'fallback';

/**
 * The rate-limit plugin's series in the gateway's registry. The gateway builds
 * its pipeline again on every reload with the same registry, so each series is
 * taken from the registry when it is there already and counts on.
 */
export function rateLimitMetrics(registry: Registry) {
  const counter = <Label extends string>(configuration: Omit<CounterConfiguration<Label>, 'registers'>) =>
    registeredMetric(registry, configuration.name, () => new Counter({ ...configuration, registers: [registry] }));
  const histogram = <Label extends string>(configuration: Omit<HistogramConfiguration<Label>, 'registers'>) =>
    registeredMetric(registry, configuration.name, () => new Histogram({ ...configuration, registers: [registry] }));
  return {
    storeErrors: counter({
      name: 'geofed_rate_limit_store_errors_total',
      help: 'Debits that failed or timed out because the rate-limit store could not be reached, by the policy applied.',
      labelNames: ['policy'] as const,
    }),
    limited: counter({
      name: 'geofed_rate_limited_total',
      help: 'Operations refused with RATE_LIMITED, by the region of the bucket with the least remaining.',
      labelNames: ['region'] as const,
    }),
    measuredExceeded: counter({
      name: 'geofed_rate_limit_measured_exceeded_total',
      help: 'Operations their budgets could not pay that were served because rate_limits.mode is measure (enforce would have refused them with RATE_LIMITED), by the region of the bucket with the least remaining.',
      labelNames: ['region'] as const,
    }),
    fallbackDebits: counter({
      name: 'geofed_rate_limit_fallback_debits_total',
      help: 'Debits charged to this gateway\'s local share of the buckets because the store could not answer in time (on_store_error: open), by outcome (admitted or refused).',
      labelNames: ['outcome'] as const,
    }),
    storeErrorRefusals: counter({
      name: 'geofed_rate_limit_store_error_refusals_total',
      help: 'Operations refused while the store could not answer, by the policy applied: open (the local share was short, 429) or closed (503).',
      labelNames: ['policy'] as const,
    }),
    decisions: counter({
      name: 'geofed_rate_limit_decisions_total',
      help: 'Operations priced against the budgets, by what was decided (allowed, limited, or fallback: the store could not answer in time) and the region of the bucket with the least left in proportion.',
      labelNames: ['region', 'decision'] as const,
    }),
    fill: histogram({
      name: 'geofed_rate_limit_bucket_fill_ratio',
      help: 'Tokens left / capacity of each bucket after a debit the store answered (1: full, 0: empty), by the bucket\'s region; tenants and clients are not labels.',
      labelNames: ['region'] as const,
      buckets: [0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1],
    }),
    spentBuckets: registeredMetric(registry, SpentBucketsGauge.metricName, () => new SpentBucketsGauge(registry)),
    debitSeconds: histogram({
      name: 'geofed_rate_limit_debit_duration_seconds',
      help: 'Time from asking the store for a debit to its answer, or to the failure or timeout (outcome answered or failed).',
      labelNames: ['outcome'] as const,
      buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1, 2.5],
    }),
  };
}
