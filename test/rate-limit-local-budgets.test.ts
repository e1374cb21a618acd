import { describe, expect, it } from 'vitest';
import { localBudgets } from '../plugins/rate-limit/local-budgets.js';
import { settleDebits, type BucketDebit } from '../plugins/rate-limit/store.js';

// A gateway's local share of a bucket while the store cannot answer (on_store_error: open), on a clock of the test's.
function sharesOn(gateways: number, maxBuckets = 100) {
  const clock = { ms: 1_000_000 };
  return { shares: localBudgets({ gateways, maxBuckets, now: () => clock.ms }), clock };
}
const bucket = (cost: number, over: Partial<BucketDebit> = {}): BucketDebit => ({ key: 'rl:{acme}:eu', capacity: 90, refillPerSecond: 0, cost, ...over });
/** The store's answer after a debit that left `remaining` (what observe() reads). */
const answered = (debits: readonly BucketDebit[], remaining: readonly number[]) => settleDebits(debits.map((debit) => ({ ...debit, cost: 0 })), remaining);
/** Debits `cost` until the share refuses; how many it admitted. */
function drain(shares: ReturnType<typeof localBudgets>, debit: BucketDebit, limit = 1_000): number {
  let admitted = 0;
  while (admitted < limit && shares.debit([debit]).allowed) admitted += 1;
  return admitted;
}

describe('localBudgets: this gateway\'s share of a bucket', () => {
  it('gives a bucket it never saw capacity / gateways, then refuses, an hour for a bucket that never refills', () => {
    const { shares } = sharesOn(3);
    expect(drain(shares, bucket(1))).toEqual(30);
    expect(shares.debit([bucket(1)])).toEqual({ allowed: false, buckets: [{ key: 'rl:{acme}:eu', capacity: 30, remaining: 0, resetSeconds: 3_600, retryAfterSeconds: 3_600 }] });
  });

  it('starts from its part of what the store last said was left', () => {
    const { shares } = sharesOn(3);
    shares.observe([bucket(1)], answered([bucket(1)], [45]));
    expect(drain(shares, bucket(1))).toEqual(15);
  });

  it('admits nothing for a bucket it last saw empty, however long the outage', () => {
    const { shares, clock } = sharesOn(3);
    shares.observe([bucket(1)], answered([bucket(1)], [0]));
    clock.ms += 86_400_000;
    expect(shares.debit([bucket(1)]).allowed).toEqual(false);
  });

  it('refills at refill_per_second / gateways from the moment it saw the bucket, never past capacity / gateways', () => {
    const { shares, clock } = sharesOn(3);
    const refilling = bucket(3, { refillPerSecond: 6 });
    shares.observe([refilling], answered([refilling], [0]));
    // 2 tokens a second here (6 / 3): 3 tokens take 1.5 s.
    clock.ms += 1_499;
    expect(shares.debit([refilling])).toMatchObject({ allowed: false, buckets: [{ remaining: 2, retryAfterSeconds: 1 }] });
    clock.ms += 1;
    expect(shares.debit([refilling]).allowed).toEqual(true);
    // A day later the share is full: 30, not 90 and not more.
    clock.ms += 86_400_000;
    expect(drain(shares, refilling)).toEqual(10);
  });

  it('is lowered by every answer of the store and raised only by its own refill', () => {
    const { shares, clock } = sharesOn(3);
    const refilling = bucket(1, { refillPerSecond: 3 });
    shares.observe([refilling], answered([refilling], [30]));
    expect(drain(shares, refilling)).toEqual(10);
    // The store comes back and says the bucket is full: the share spent while it was away stays spent.
    shares.observe([refilling], answered([refilling], [90]));
    expect(shares.debit([refilling]).allowed).toEqual(false);
    clock.ms += 1_000;
    expect(drain(shares, refilling)).toEqual(1);
    // A later answer that says less than the share holds lowers it.
    clock.ms += 60_000;
    shares.observe([refilling], answered([refilling], [6]));
    expect(drain(shares, refilling)).toEqual(2);
  });

  it('debits all of an operation\'s buckets or none', () => {
    const { shares } = sharesOn(3);
    const eu = bucket(5);
    const us = bucket(5, { key: 'rl:{acme}:us', capacity: 12 });
    // us: 4 here, short of 5: neither is debited.
    expect(shares.debit([eu, us])).toMatchObject({ allowed: false, buckets: [{ remaining: 30, retryAfterSeconds: 0 }, { remaining: 4, retryAfterSeconds: 3_600 }] });
    expect(shares.debit([{ ...eu, cost: 30 }, { ...us, cost: 4 }]).allowed).toEqual(true);
  });

  it('keeps fractions of a share', () => {
    const { shares } = sharesOn(3);
    shares.observe([bucket(1)], answered([bucket(1)], [10]));
    // 10 / 3 = 3.33…: three debits of 1, and the third of a token left is not enough for a fourth.
    expect(drain(shares, bucket(1))).toEqual(3);
    expect(shares.debit([bucket(0.3)]).allowed).toEqual(true);
    expect(shares.debit([bucket(0.1)]).allowed).toEqual(false);
  });

  it('remembers at most fallback_buckets buckets, forgetting the least recently used', () => {
    const { shares } = sharesOn(3, 2);
    const a = bucket(1, { key: 'a' });
    const b = bucket(1, { key: 'b' });
    const c = bucket(1, { key: 'c' });
    shares.observe([a], answered([a], [0]));
    shares.observe([b], answered([b], [0]));
    expect(shares.debit([a]).allowed).toEqual(false);
    shares.observe([c], answered([c], [0]));
    expect(shares.size).toEqual(2);
    expect(shares.debit([a]).allowed).toEqual(false);
    // b was the least recently used: it is forgotten, and a forgotten bucket is one never seen.
    expect(shares.debit([b]).allowed).toEqual(true);
  });

  it('bounds what all gateways admit by the mean of what each last saw, plus the refill (docs/cost-and-rate-limits.md)', () => {
    // Random runs: G gateways, each seeing the bucket at its own moments, then debiting locally in random
    // order and amounts, with answers of the store (saying no more than the bucket could hold) in between.
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let run = 0; run < 200; run += 1) {
      const gateways = 1 + Math.floor(random() * 5);
      const capacity = 10 + Math.floor(random() * 200);
      const refillPerSecond = random() < 0.5 ? 0 : random() * 10;
      const clock = { ms: 0 };
      const shares = Array.from({ length: gateways }, () => localBudgets({ gateways, maxBuckets: 10, now: () => clock.ms }));
      const debit = (cost: number): BucketDebit => ({ key: 'k', capacity, refillPerSecond, cost });
      // What each last saw before the outage (a gateway that saw nothing: capacity).
      const seen = shares.map((share) => {
        if (random() < 0.2) return capacity;
        const left = Math.floor(random() * capacity);
        share.observe([debit(0)], answered([debit(0)], [left]));
        return left;
      });
      let admitted = 0;
      const seconds = Math.floor(random() * 20);
      for (let step = 0; step < 500; step += 1) {
        clock.ms += Math.floor((random() * seconds * 1_000) / 500);
        const share = shares[Math.floor(random() * gateways)]!;
        if (random() < 0.1) share.observe([debit(0)], answered([debit(0)], [Math.floor(random() * capacity)]));
        const cost = 1 + Math.floor(random() * 5);
        if (share.debit([debit(cost)]).allowed) admitted += cost;
      }
      const bound = seen.reduce((sum, left) => sum + left, 0) / gateways + (refillPerSecond * clock.ms) / 1_000;
      expect(admitted, `run ${run}: ${gateways} gateways, capacity ${capacity}, refill ${refillPerSecond}`).toBeLessThanOrEqual(bound + 1e-9);
    }
  });
});
