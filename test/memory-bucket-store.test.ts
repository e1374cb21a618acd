import { describe, expect, it } from 'vitest';
import { memoryBucketStore } from '../plugins/rate-limit/memory-store.js';
import type { BucketDebit } from '../plugins/rate-limit/store.js';

function storeAt(start = 10_000) {
  const clock = { ms: start };
  return { store: memoryBucketStore(() => clock.ms), clock };
}

/** A bucket of 10 that refills 2 per second. */
const bucket = (cost: number, key = 'rl:{t}:eu'): BucketDebit => ({ key, capacity: 10, refillPerSecond: 2, cost });

describe('memoryBucketStore', () => {
  it('starts full and reports remaining, reset and retry-after per bucket', async () => {
    const { store } = storeAt();
    expect(await store.debit([bucket(4)])).toEqual({
      allowed: true,
      buckets: [{ key: 'rl:{t}:eu', capacity: 10, remaining: 6, resetSeconds: 2, retryAfterSeconds: 0 }],
    });
    // 6 left, 8 asked: 2 short at 2 per second is one second; the refusal debits nothing.
    expect(await store.debit([bucket(8)])).toEqual({
      allowed: false,
      buckets: [{ key: 'rl:{t}:eu', capacity: 10, remaining: 6, resetSeconds: 2, retryAfterSeconds: 1 }],
    });
    expect(await store.debit([bucket(6)])).toEqual({
      allowed: true,
      buckets: [{ key: 'rl:{t}:eu', capacity: 10, remaining: 0, resetSeconds: 5, retryAfterSeconds: 0 }],
    });
  });

  it('refills with time, in fractions, never past capacity', async () => {
    const { store, clock } = storeAt();
    await store.debit([bucket(10)]);
    clock.ms += 250;
    // Half a token: not enough for one, and remaining rounds down.
    expect(await store.debit([bucket(1)])).toEqual({
      allowed: false,
      buckets: [{ key: 'rl:{t}:eu', capacity: 10, remaining: 0, resetSeconds: 5, retryAfterSeconds: 1 }],
    });
    clock.ms += 1_250;
    expect(await store.debit([bucket(3)])).toEqual({
      allowed: true,
      buckets: [{ key: 'rl:{t}:eu', capacity: 10, remaining: 0, resetSeconds: 5, retryAfterSeconds: 0 }],
    });
    clock.ms += 3_600_000;
    expect(await store.debit([bucket(1)])).toEqual({
      allowed: true,
      buckets: [{ key: 'rl:{t}:eu', capacity: 10, remaining: 9, resetSeconds: 1, retryAfterSeconds: 0 }],
    });
  });

  it('debits all buckets of an operation or none of them', async () => {
    const { store } = storeAt();
    const small: BucketDebit = { key: 'rl:{t}:us', capacity: 2, refillPerSecond: 1, cost: 3 };
    expect(await store.debit([bucket(3), small])).toEqual({
      allowed: false,
      buckets: [
        { key: 'rl:{t}:eu', capacity: 10, remaining: 10, resetSeconds: 0, retryAfterSeconds: 0 },
        { key: 'rl:{t}:us', capacity: 2, remaining: 2, resetSeconds: 0, retryAfterSeconds: 1 },
      ],
    });
    // The refused operation took nothing from the bucket that could have paid.
    expect(await store.debit([bucket(10)])).toEqual({
      allowed: true,
      buckets: [{ key: 'rl:{t}:eu', capacity: 10, remaining: 0, resetSeconds: 5, retryAfterSeconds: 0 }],
    });
    expect(await store.debit([bucket(0), { ...small, cost: 2 }])).toEqual({
      allowed: true,
      buckets: [
        { key: 'rl:{t}:eu', capacity: 10, remaining: 0, resetSeconds: 5, retryAfterSeconds: 0 },
        { key: 'rl:{t}:us', capacity: 2, remaining: 0, resetSeconds: 2, retryAfterSeconds: 0 },
      ],
    });
  });

  it('keeps buckets apart by key', async () => {
    const { store } = storeAt();
    await store.debit([bucket(10, 'rl:{a}:eu')]);
    expect(await store.debit([bucket(10, 'rl:{b}:eu')])).toEqual({
      allowed: true,
      buckets: [{ key: 'rl:{b}:eu', capacity: 10, remaining: 0, resetSeconds: 5, retryAfterSeconds: 0 }],
    });
  });

  it('answers an hour for a bucket that never refills', async () => {
    const { store, clock } = storeAt();
    const frozen = (cost: number): BucketDebit => ({ key: 'rl:{t}:eu', capacity: 5, refillPerSecond: 0, cost });
    expect(await store.debit([frozen(5)])).toEqual({
      allowed: true,
      buckets: [{ key: 'rl:{t}:eu', capacity: 5, remaining: 0, resetSeconds: 3_600, retryAfterSeconds: 0 }],
    });
    clock.ms += 86_400_000;
    expect(await store.debit([frozen(1)])).toEqual({
      allowed: false,
      buckets: [{ key: 'rl:{t}:eu', capacity: 5, remaining: 0, resetSeconds: 3_600, retryAfterSeconds: 3_600 }],
    });
  });

  it('forgets every bucket on close', async () => {
    const { store } = storeAt();
    await store.debit([bucket(10)]);
    await store.close();
    expect(await store.debit([bucket(1)])).toEqual({
      allowed: true,
      buckets: [{ key: 'rl:{t}:eu', capacity: 10, remaining: 9, resetSeconds: 1, retryAfterSeconds: 0 }],
    });
  });
});
