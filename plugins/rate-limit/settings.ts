import { z } from 'zod';
import { positiveInteger, regionName, settingsSection } from '../../runtime/settings.js';
import { limitMode } from '../cost/settings.js';

const bucketShape = { capacity: z.number().positive(), refill_per_second: z.number().nonnegative() };

/** A token bucket's size: what it holds when full and how fast it refills. */
export type BucketSize = z.output<typeof bucketSize>;
const bucketSize = settingsSection(bucketShape);

/**
 * `rate_limits` of supergraph.yaml: token buckets per (tenant, region), in
 * memory or in Upstash Redis (README, "Cost and rate limits"). The file's
 * `plans` and `default_plan` are billing plans; code names them so, since
 * "plan" in code is Apollo's query plan.
 */
export const rateLimitSettings = settingsSection({
  enabled: z.boolean().default(true),
  /**
   * `enforce`: an operation its budgets cannot pay is refused; `measure`: the buckets are debited all the same
   * (an operation they cannot pay takes nothing, as when refused), the verdict is reported in
   * extensions.rateLimit and in metrics, and nothing is refused.
   */
  mode: limitMode.default('enforce'),
  /**
   * What a debit the store cannot answer in time does: `open` debits this gateway's local share of each
   * bucket (local-budgets.ts); `closed` refuses the operation (503 RATE_LIMIT_UNAVAILABLE); `unmetered`
   * admits it unpriced.
   */
  on_store_error: z.enum(['open', 'closed', 'unmetered']).default('open'),
  /** A debit that takes longer counts as a store error. */
  store_timeout_ms: positiveInteger.default(250),
  /** How many gateways share a bucket: while the store cannot answer, each spends at most 1/gateways of it. */
  gateways: positiveInteger.default(3),
  /** How many buckets each gateway remembers for its local shares (least recently used forgotten first). */
  fallback_buckets: positiveInteger.default(50_000),
  /** Prefix of every bucket key in the shared store. */
  key_prefix: z.string().min(1).default('geofed:rl'),
  /** Billing plan of a tenant whose plan has no entry. */
  default_plan: z.string().min(1).default('free'),
  /** Bucket size by billing plan, with per-region overrides. */
  plans: z.record(z.string(), settingsSection({ ...bucketShape, regions: z.record(regionName, bucketSize).default({}) })).default({}),
  /** The budget anonymous callers share per client key and region. */
  anonymous: settingsSection({
    capacity: z.number().positive().default(2_000),
    refill_per_second: z.number().nonnegative().default(100),
    /** Who an anonymous caller is: its socket address, or the first X-Forwarded-For hop behind a trusted proxy. */
    client_key: z.enum(['address', 'x-forwarded-for']).default('address'),
  }).prefault({}),
})
  .transform(({ plans, defaultPlan, ...section }) => ({ ...section, billingPlans: plans, defaultBillingPlan: defaultPlan }))
  .prefault({});

export type RateLimitSettings = z.output<typeof rateLimitSettings>;
