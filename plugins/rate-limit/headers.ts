import type { BucketDebit, BucketState } from './store.js';

/** One bucket an operation was debited from, as its response describes it: the policy is the bucket's region. */
export interface PolicyState {
  /** The region of the bucket (`eu`): the name of its policy. */
  readonly policy: string;
  readonly capacity: number;
  readonly refillPerSecond: number;
  readonly remaining: number;
  /** Seconds until the bucket is full again. */
  readonly resetSeconds: number;
}

/**
 * The vendor parameter that names the quota unit. `qu` may hold only the units
 * of the draft's registry (requests, content-bytes, concurrent-requests), and
 * a bucket holds points of the static cost, not requests: a vendor-prefixed
 * parameter says so, as the draft asks of service-specific parameters.
 */
export const costUnitParameter = 'geofed-unit';
export const costUnit = 'cost';

/** Every RateLimit field the gateway writes: the older three and the two structured fields of draft-ietf-httpapi-ratelimit-headers-10. */
export const rateLimitHeaderNames = ['ratelimit-policy', 'ratelimit', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'] as const;

/** The region of a bucket key (`geofed:rl:{acme}:eu` → `eu`). */
export function regionOfBucket(key: string): string {
  return key.slice(key.lastIndexOf(':') + 1);
}

/** The debited buckets with their state after the debit, in the order of the debit. */
export function policyStates(debits: readonly BucketDebit[], states: readonly BucketState[]): PolicyState[] {
  return states.map((state, i) => ({
    policy: regionOfBucket(state.key),
    capacity: state.capacity,
    refillPerSecond: debits[i]?.refillPerSecond ?? 0,
    remaining: state.remaining,
    resetSeconds: state.resetSeconds,
  }));
}

/**
 * The RateLimit fields of a response. `RateLimit-Policy` and `RateLimit` are
 * Structured Field Lists with one item per bucket debited, named by its
 * region: `"eu";q=250;w=25;geofed-unit="cost"` (q the bucket's capacity, w the
 * seconds an empty bucket takes to fill, left out for a bucket that never
 * refills) and `"eu";r=139;t=12` (r the tokens left, t the seconds until the
 * bucket is full again). The older `RateLimit-Limit`, `-Remaining` and
 * `-Reset` describe the bucket with the least left in proportion, as before.
 */
export function rateLimitHeaders(policies: readonly PolicyState[]): Record<string, string> {
  const tightest = [...policies].sort((a, b) => a.remaining / a.capacity - b.remaining / b.capacity)[0];
  if (!tightest) return {};
  return {
    'ratelimit-policy': policies.map(policyItem).join(', '),
    ratelimit: policies.map((p) => `${sfString(p.policy)};r=${sfInteger(p.remaining)};t=${sfInteger(p.resetSeconds)}`).join(', '),
    'ratelimit-limit': String(tightest.capacity),
    'ratelimit-remaining': String(tightest.remaining),
    'ratelimit-reset': String(tightest.resetSeconds),
  };
}

function policyItem(policy: PolicyState): string {
  const window = policy.refillPerSecond > 0 ? `;w=${sfInteger(Math.max(1, Math.ceil(policy.capacity / policy.refillPerSecond)))}` : '';
  return `${sfString(policy.policy)};q=${sfInteger(policy.capacity)}${window};${costUnitParameter}=${sfString(costUnit)}`;
}

/** A Structured Field Integer (RFC 9651 §3.3.1): the draft's q, w, r and t are non-negative integers. */
function sfInteger(value: number): string {
  return String(Math.max(0, Math.floor(value)));
}

/** A Structured Field String (RFC 9651 §3.3.3): printable ASCII, with `"` and `\` escaped. */
function sfString(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]/g, '').replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
