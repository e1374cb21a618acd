import type { GeofedConfig } from './config.js';
import type { SideCounts } from './rollout-store.js';

export type GuardSettings = GeofedConfig['rollout']['guard'];

/** Latency buckets grow by a quarter from 1 ms (bucket 0: up to 1 ms): a p95 is known to within 25 %. */
const growth = 1.25;
const lastBucket = 80;

export function latencyBucket(ms: number): number {
  return ms <= 1 ? 0 : Math.min(lastBucket, Math.ceil(Math.log(ms) / Math.log(growth)));
}

/** The upper bound of a bucket, in ms. */
const bucketBound = (bucket: number) => growth ** bucket;

/** The 95th percentile of a side's latencies, as the upper bound of its bucket; undefined without requests. */
export function p95Of(counts: SideCounts): number | undefined {
  const buckets = Object.entries(counts.latency).map(([bucket, count]) => [Number(bucket), count] as const).sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((sum, [, count]) => sum + count, 0);
  if (total === 0) return undefined;
  let seen = 0;
  for (const [bucket, count] of buckets) {
    seen += count;
    if (seen >= 0.95 * total) return bucketBound(bucket);
  }
  return bucketBound(buckets.at(-1)![0]);
}

export type Verdict = { readonly breach: false; readonly why?: string } | { readonly breach: true; readonly why: string };

const share = (counts: SideCounts) => (counts.requests === 0 ? 0 : counts.errors / counts.requests);
const percent = (rate: number) => `${(rate * 100).toFixed(1)} %`;

/**
 * The guard's judgement of a canary against its stable side over the window. The canary is judged once it has
 * `min_requests`: a breach is an error rate more than `max_error_rate_delta` above the stable side's, or (with
 * `min_requests` on the stable side too) a p95 latency more than `max_p95_ratio` times the stable side's.
 */
export function judge(canary: SideCounts, stable: SideCounts, guard: GuardSettings, what: { readonly canary: string; readonly stable: string }): Verdict {
  if (canary.requests < guard.minRequests) return { breach: false, why: `${canary.requests} of ${guard.minRequests} canary requests in the window: not judged yet` };
  const [canaryRate, stableRate] = [share(canary), share(stable)];
  if (canaryRate - stableRate > guard.maxErrorRateDelta) {
    return {
      breach: true,
      why: `error rate ${percent(canaryRate)} on ${what.canary} (${canary.errors} of ${canary.requests}) against ${percent(stableRate)} on ${what.stable} (${stable.errors} of ${stable.requests}), more than rollout.guard.max_error_rate_delta ${guard.maxErrorRateDelta} above it`,
    };
  }
  const [canaryP95, stableP95] = [p95Of(canary), p95Of(stable)];
  if (stable.requests >= guard.minRequests && canaryP95 !== undefined && stableP95 !== undefined && canaryP95 > guard.maxP95Ratio * stableP95) {
    return { breach: true, why: `p95 latency ${canaryP95.toFixed(1)} ms on ${what.canary} against ${stableP95.toFixed(1)} ms on ${what.stable}, more than rollout.guard.max_p95_ratio ${guard.maxP95Ratio} times it` };
  }
  return { breach: false };
}
