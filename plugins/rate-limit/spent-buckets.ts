import { LRUCache } from 'lru-cache';
import { Gauge, type Registry } from 'prom-client';

/** How many tenants' buckets the gauge names at most: a tenant id is a label only in this bounded top. */
export const spentBucketsShown = 10;
/** Buckets remembered to choose the top from: the most recently debited ones. */
const spentBucketsRemembered = 1_000;
/** A bucket not debited for this long has refilled or gone quiet: it leaves the top. */
const spentBucketsForgetMs = 5 * 60_000;

interface SeenBucket {
  readonly region: string;
  readonly tenant: string;
  readonly capacity: number;
  readonly refillPerSecond: number;
  readonly remaining: number;
  readonly atMs: number;
}

/**
 * `geofed_rate_limit_bucket_spent_ratio{region,tenant}`: the share of their
 * budget spent (1 − tokens / capacity, refill since the last debit counted)
 * of the ten tenants' buckets most spent among those debited in the last five
 * minutes. The rest of the buckets are in the `geofed_rate_limit_bucket_fill_ratio`
 * histogram, without tenant ids. The series are rebuilt at every scrape, so a
 * scrape holds at most ten tenant ids; anonymous callers' buckets (a client
 * address) are never named. One gauge per registry, shared by every plugin
 * instance (one per variant, built again on every reload).
 */
export class SpentBucketsGauge extends Gauge<'region' | 'tenant'> {
  static readonly metricName = 'geofed_rate_limit_bucket_spent_ratio';
  private readonly seen = new LRUCache<string, SeenBucket>({ max: spentBucketsRemembered });

  constructor(registry: Registry, private readonly now: () => number = Date.now) {
    super({
      name: SpentBucketsGauge.metricName,
      help: `Share of its budget spent (1 - tokens left / capacity) of each of the ${spentBucketsShown} tenants' buckets most spent among those debited in the last ${spentBucketsForgetMs / 60_000} minutes, by region and tenant; refill since the last debit is counted.`,
      labelNames: ['region', 'tenant'] as const,
      registers: [registry],
      // prom-client calls it on the metric itself, at each scrape.
      collect() {
        (this as SpentBucketsGauge).showTop();
      },
    });
  }

  /** A tenant's bucket after a debit the shared store answered. */
  observe(bucket: Omit<SeenBucket, 'atMs'>): void {
    this.seen.set(`${bucket.tenant}\0${bucket.region}`, { ...bucket, atMs: this.now() });
  }

  private showTop(): void {
    this.reset();
    const now = this.now();
    const spent = [...this.seen.values()]
      .filter((bucket) => now - bucket.atMs <= spentBucketsForgetMs)
      .map((bucket) => {
        const tokens = Math.min(bucket.capacity, bucket.remaining + (Math.max(0, now - bucket.atMs) * bucket.refillPerSecond) / 1000);
        return { bucket, ratio: 1 - tokens / bucket.capacity };
      })
      .sort((a, b) => b.ratio - a.ratio)
      .slice(0, spentBucketsShown);
    for (const { bucket, ratio } of spent) this.set({ region: bucket.region, tenant: bucket.tenant }, ratio);
  }
}
