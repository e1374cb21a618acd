import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SpentBucketsGauge, spentBucketsShown } from '../plugins/rate-limit/spent-buckets.js';

const series = async (gauge: SpentBucketsGauge) => Object.fromEntries((await gauge.get()).values.map((v) => [`${v.labels.tenant}/${v.labels.region}`, Number(v.value.toFixed(3))]));

describe('SpentBucketsGauge', () => {
  it('names only the ten most spent buckets seen lately, counting their refill since', async () => {
    const clock = { ms: 0 };
    const gauge = new SpentBucketsGauge(new Registry(), () => clock.ms);
    for (let i = 0; i < 15; i += 1) gauge.observe({ region: 'eu', tenant: `t${i}`, capacity: 100, refillPerSecond: 0, remaining: 100 - i });
    gauge.observe({ region: 'us', tenant: 'refills', capacity: 100, refillPerSecond: 10, remaining: 0 });
    expect(Object.keys(await series(gauge))).toHaveLength(spentBucketsShown);
    expect((await series(gauge))['refills/us']).toEqual(1);
    clock.ms = 5_000;
    // 50 tokens back: half spent, still more than t5..t14 (5 to 14 % spent), so still shown.
    expect((await series(gauge))['refills/us']).toEqual(0.5);
    // 96 back: 4 % spent, less than the ten others.
    clock.ms = 9_600;
    const shown = await series(gauge);
    expect(shown['refills/us']).toBeUndefined();
    expect(shown['t14/eu']).toEqual(0.14);
  });

  it('forgets a bucket not debited for five minutes', async () => {
    const clock = { ms: 0 };
    const gauge = new SpentBucketsGauge(new Registry(), () => clock.ms);
    gauge.observe({ region: 'eu', tenant: 'acme', capacity: 10, refillPerSecond: 0, remaining: 1 });
    expect(await series(gauge)).toEqual({ 'acme/eu': 0.9 });
    clock.ms = 5 * 60_000 + 1;
    expect(await series(gauge)).toEqual({});
  });
});
