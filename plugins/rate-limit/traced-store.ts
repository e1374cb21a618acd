import { inSpan, traceAttributes } from '../../runtime/tracing.js';
import type { BucketStore } from './store.js';

/**
 * A bucket store whose every debit is a span (`geofed.rate_limit.debit`): how
 * many buckets and whether they paid. Never a bucket's key, which
 * names the tenant. A debit that fails or times out ends its span as an error
 * (the plugin decides what the request gets, rate-limit/index.ts).
 */
export function tracedBucketStore(store: BucketStore): BucketStore {
  return {
    debit: (buckets) =>
      inSpan('geofed.rate_limit.debit', { attributes: { 'geofed.rate_limit.buckets': buckets.length } }, async (span) => {
        const result = await store.debit(buckets);
        span.setAttribute(traceAttributes.outcome, result.allowed ? 'allowed' : 'refused');
        return result;
      }),
    close: () => store.close(),
  };
}
