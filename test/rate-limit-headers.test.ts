import { describe, expect, it } from 'vitest';
import { policyStates, rateLimitHeaderNames, rateLimitHeaders } from '../plugins/rate-limit/headers.js';
import { settleDebits, type BucketDebit } from '../plugins/rate-limit/store.js';

// The RateLimit fields of draft-ietf-httpapi-ratelimit-headers-10 (Structured Field Lists, one item per bucket)
// beside the older RateLimit-Limit/-Remaining/-Reset, from the buckets' state after a debit.
const debits: BucketDebit[] = [
  { key: 'geofed:rl:{acme}:eu', capacity: 1000, refillPerSecond: 20, cost: 250 },
  { key: 'geofed:rl:{acme}:us', capacity: 300, refillPerSecond: 0, cost: 30 },
];

describe('rateLimitHeaders', () => {
  it('writes a policy and a service limit per bucket, named by its region, and the older fields for the tightest', () => {
    const after = settleDebits(debits, [1000, 300]);
    expect(rateLimitHeaders(policyStates(debits, after.buckets))).toEqual({
      // w: an empty bucket refills in 1000 / 20 s; a bucket that never refills has no window.
      'ratelimit-policy': '"eu";q=1000;w=50;geofed-unit="cost", "us";q=300;geofed-unit="cost"',
      // t: seconds until the bucket is full again (250 / 20 → 13; the one that never refills says "not soon").
      ratelimit: '"eu";r=750;t=13, "us";r=270;t=3600',
      'ratelimit-limit': '1000',
      'ratelimit-remaining': '750',
      'ratelimit-reset': '13',
    });
  });

  it('keeps every value a Structured Field Integer and every policy name a Structured Field String', () => {
    const policies = [{ policy: 'a"b\\c\u00e9', capacity: 12.5, refillPerSecond: 3, remaining: 4, resetSeconds: 3 }];
    expect(rateLimitHeaders(policies)).toMatchObject({ 'ratelimit-policy': '"a\\"b\\\\c";q=12;w=5;geofed-unit="cost"', ratelimit: '"a\\"b\\\\c";r=4;t=3' });
  });

  it('writes nothing without a bucket', () => {
    expect(rateLimitHeaders([])).toEqual({});
  });

  it('names every field it writes, for CORS and for public responses', () => {
    const written = Object.keys(rateLimitHeaders(policyStates(debits, settleDebits(debits, [1000, 300]).buckets)));
    expect([...rateLimitHeaderNames].sort()).toEqual(written.sort());
  });
});
