// The Lua token bucket in the real Redis at 127.0.0.1:6379, reached as the gateway reaches Upstash:
// over REST, through the proxy of dev/. Without Redis every test here fails.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startUpstashRestProxy, type UpstashRestProxy } from '../dev/upstash-rest-proxy.js';
import type { BucketDebit, BucketStore } from '../plugins/rate-limit/store.js';
import { upstashBucketStore } from '../plugins/rate-limit/upstash-store.js';

let proxy: UpstashRestProxy | undefined;
let redis: Redis | undefined;
beforeAll(async () => {
  proxy = await startUpstashRestProxy();
  redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
});
afterAll(async () => {
  await proxy?.stop();
  await redis?.quit();
});

let prefix: string;
beforeEach(() => {
  prefix = `geofed:test:${randomUUID()}`;
});
afterEach(async () => {
  const keys = await redis!.keys(`${prefix}:*`);
  if (keys.length > 0) await redis!.del(...keys);
});

function storeAt(start = 1_000_000) {
  const clock = { ms: start };
  const store: BucketStore = upstashBucketStore({ url: proxy!.url, token: proxy!.token, timeoutMs: 5_000, now: () => clock.ms });
  return { store, clock };
}

/** Both of a tenant's buckets share the hash tag {acme}: one cluster slot, as one script needs. */
const key = (region: string) => `${prefix}:{acme}:${region}`;
const bucket = (cost: number, region = 'eu'): BucketDebit => ({ key: key(region), capacity: 10, refillPerSecond: 2, cost });

async function redisMs(): Promise<number> {
  const [seconds, micros] = await redis!.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

describe('upstashBucketStore', () => {
  it('refills with the clock it is given, in fractions, never past capacity', async () => {
    const { store, clock } = storeAt();
    expect(await store.debit([bucket(10)])).toEqual({ allowed: true, buckets: [{ key: key('eu'), capacity: 10, remaining: 0, resetSeconds: 5, retryAfterSeconds: 0 }] });
    clock.ms += 250;
    expect(await store.debit([bucket(1)])).toEqual({ allowed: false, buckets: [{ key: key('eu'), capacity: 10, remaining: 0, resetSeconds: 5, retryAfterSeconds: 1 }] });
    clock.ms += 1_000;
    expect(await store.debit([bucket(2)])).toEqual({ allowed: true, buckets: [{ key: key('eu'), capacity: 10, remaining: 0, resetSeconds: 5, retryAfterSeconds: 0 }] });
    // Half a token stays behind: Lua's numbers are kept as text so fractions survive.
    expect(await redis!.hgetall(key('eu'))).toEqual({ tokens: '0.5', ts: '1001250' });
    clock.ms += 3_600_000;
    expect(await store.debit([bucket(1)])).toEqual({ allowed: true, buckets: [{ key: key('eu'), capacity: 10, remaining: 9, resetSeconds: 1, retryAfterSeconds: 0 }] });
  });

  it('debits every key of the operation or none', async () => {
    const { store } = storeAt();
    const small: BucketDebit = { key: key('us'), capacity: 2, refillPerSecond: 1, cost: 3 };
    expect(await store.debit([bucket(3), small])).toEqual({
      allowed: false,
      buckets: [
        { key: key('eu'), capacity: 10, remaining: 10, resetSeconds: 0, retryAfterSeconds: 0 },
        { key: key('us'), capacity: 2, remaining: 2, resetSeconds: 0, retryAfterSeconds: 1 },
      ],
    });
    expect(await redis!.exists(key('eu'), key('us'))).toEqual(0);
    expect((await store.debit([bucket(3), { ...small, cost: 2 }])).allowed).toEqual(true);
    expect([await redis!.hgetall(key('eu')), await redis!.hgetall(key('us'))]).toEqual([
      { tokens: '7', ts: '1000000' },
      { tokens: '0', ts: '1000000' },
    ]);
  });

  it('lets a bucket expire once it would be full again, and one that never refills never', async () => {
    const { store } = storeAt();
    const before = await redisMs();
    await store.debit([bucket(4)]);
    const after = await redisMs();
    // 4 tokens short at 2 per second: full in 2 s, plus a second. Expiry runs on Redis's clock, so it
    // is bracketed by Redis's time just before and just after the debit.
    const expiresAt = Number(await redis!.call('PEXPIRETIME', key('eu')));
    expect({ atOrAfter: expiresAt >= before + 3_000, atOrBefore: expiresAt <= after + 3_000 }).toEqual({ atOrAfter: true, atOrBefore: true });

    await store.debit([{ key: key('us'), capacity: 5, refillPerSecond: 0, cost: 5 }]);
    expect(await redis!.pttl(key('us'))).toEqual(-1);
  });

  it('answers an hour for a bucket that never refills', async () => {
    const { store, clock } = storeAt();
    const frozen = (cost: number): BucketDebit => ({ key: key('eu'), capacity: 5, refillPerSecond: 0, cost });
    await store.debit([frozen(5)]);
    clock.ms += 86_400_000;
    expect(await store.debit([frozen(1)])).toEqual({ allowed: false, buckets: [{ key: key('eu'), capacity: 5, remaining: 0, resetSeconds: 3_600, retryAfterSeconds: 3_600 }] });
  });

  it('reads Redis\'s own clock when given none, as in production', async () => {
    const store = upstashBucketStore({ url: proxy!.url, token: proxy!.token, timeoutMs: 5_000 });
    const before = await redisMs();
    await store.debit([bucket(1)]);
    const after = await redisMs();
    const stamped = Number(await redis!.hget(key('eu'), 'ts'));
    expect({ atOrAfter: stamped >= before, atOrBefore: stamped <= after }).toEqual({ atOrAfter: true, atOrBefore: true });
    await store.close();
  });
});
