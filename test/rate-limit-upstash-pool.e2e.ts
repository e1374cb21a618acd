// The Upstash bucket store's connections and batches, against the real Redis at 127.0.0.1:6379 through the
// Upstash REST proxy of dev/ (and, to count connections or cut them, the slow proxy of dev/ in front of it).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSlowProxy, type SlowProxy } from '../dev/slow-proxy.js';
import { startUpstashRestProxy, type UpstashRestProxy } from '../dev/upstash-rest-proxy.js';
import type { BucketDebit, BucketStore } from '../plugins/rate-limit/store.js';
import { upstashBucketStore } from '../plugins/rate-limit/upstash-store.js';

let upstash: UpstashRestProxy;
let redis: Redis;
beforeAll(async () => {
  upstash = await startUpstashRestProxy();
  redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect().catch((error: Error) => {
    throw new Error(`Redis on 127.0.0.1:6379 is needed by this suite (run .ci/run, or start it): ${error.message}`);
  });
});
afterAll(async () => {
  await upstash?.stop();
  redis?.disconnect();
});

let prefix: string;
const opened: { close(): Promise<void> }[] = [];
beforeEach(() => {
  prefix = `geofed:test:${randomUUID()}`;
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()));
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
});

function storeAt(url: string, maxInFlight: number): BucketStore {
  const store = upstashBucketStore({ url, token: upstash.token, timeoutMs: 10_000, maxInFlight });
  opened.push(store);
  return store;
}
async function slowProxy(): Promise<SlowProxy> {
  const proxy = await startSlowProxy({ target: upstash.url });
  opened.push(proxy);
  return proxy;
}
const debit = (key: string, capacity: number, cost = 1): BucketDebit[] => [{ key: `${prefix}:{acme}:${key}`, capacity, refillPerSecond: 0, cost }];

describe('upstashBucketStore over its connection pool', () => {
  it('sends the debits that wait for a connection together, each still its own all-or-nothing script', async () => {
    const store = storeAt(upstash.url, 2);
    const requestsBefore = upstash.requestCount();
    const commandsBefore = upstash.commandCount();
    // 120 debits at once of a bucket that pays for 50; every one also debits a bucket that pays for all.
    const results = await Promise.all(Array.from({ length: 120 }, () => store.debit([...debit('eu', 50), ...debit('us', 1_000)])));
    expect(results.filter((result) => result.allowed)).toHaveLength(50);
    expect([await redis.hget(`${prefix}:{acme}:eu`, 'tokens'), await redis.hget(`${prefix}:{acme}:us`, 'tokens')]).toEqual(['0', '950']);
    // One EVALSHA per debit (plus a SCRIPT LOAD and the EVALSHA again for a Redis that had not seen the script yet)…
    expect(upstash.commandCount() - commandsBefore).toBeGreaterThanOrEqual(120);
    // …in far fewer requests: two in flight, the rest waiting and going together.
    expect(upstash.requestCount() - requestsBefore).toBeLessThan(20);
  });

  it('keeps its connections alive, never more than maxInFlight', async () => {
    const proxy = await slowProxy();
    const store = storeAt(proxy.url, 4);
    for (let round = 0; round < 10; round += 1) await Promise.all(Array.from({ length: 16 }, () => store.debit(debit('eu', 1_000))));
    for (let i = 0; i < 20; i += 1) await store.debit(debit('eu', 1_000));
    expect(proxy.connectionCount()).toBeLessThanOrEqual(4);
    expect(await redis.hget(`${prefix}:{acme}:eu`, 'tokens')).toBe(String(1_000 - 180));
  });

  it('loads the script again for the debits Redis answered NOSCRIPT, and debits each once', async () => {
    const store = storeAt(upstash.url, 1);
    await store.debit(debit('eu', 100));
    await redis.script('FLUSH');
    const results = await Promise.all(Array.from({ length: 30 }, () => store.debit(debit('eu', 100))));
    expect(results.every((result) => result.allowed)).toBe(true);
    expect(await redis.hget(`${prefix}:{acme}:eu`, 'tokens')).toBe('69');
  });

  it('fails a debit at once when the store refuses connections, and recovers when it is back', async () => {
    const proxy = await slowProxy();
    const store = storeAt(proxy.url, 2);
    await store.debit(debit('eu', 100));
    await proxy.stop();
    await expect(store.debit(debit('eu', 100))).rejects.toThrow(/ECONNREFUSED|other side closed|socket/i);
    await proxy.start();
    expect((await store.debit(debit('eu', 100))).buckets[0]?.remaining).toBe(98);
  });

  it('reads a reply that came in while this process was too busy, rather than aborting it at the timeout', async () => {
    // The proxy in a process of its own, so that it answers while this one is blocked past the store's timeout.
    const child = spawn(process.execPath, ['--import', 'tsx', 'dev/upstash-rest-proxy-cli.ts', '--port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const found: Record<string, string> = {};
      for await (const line of createInterface({ input: child.stdout })) {
        const match = /^export (\w+)=(.*)$/.exec(line);
        if (match) found[match[1]!] = match[2]!;
        if (found.UPSTASH_REDIS_REST_URL && found.UPSTASH_REDIS_REST_TOKEN) break;
      }
      const store = upstashBucketStore({ url: found.UPSTASH_REDIS_REST_URL!, token: found.UPSTASH_REDIS_REST_TOKEN!, timeoutMs: 200 });
      opened.push(store);
      await store.debit(debit('eu', 100));
      // Once the request is out (undici writes it a turn later), nothing here runs for well past the timeout, as
      // in a starved gateway, while the proxy answers.
      const sent = diagnostics.channel('undici:request:bodySent');
      const starve = () => {
        sent.unsubscribe(starve);
        const until = Date.now() + 1_500;
        while (Date.now() < until);
      };
      sent.subscribe(starve);
      expect((await store.debit(debit('eu', 100))).buckets[0]?.remaining).toBe(98);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('answers a Redis error for that debit only', async () => {
    const store = storeAt(upstash.url, 1);
    await redis.set(`${prefix}:{acme}:eu`, 'not a hash');
    const [wrong, right] = await Promise.allSettled([store.debit(debit('eu', 10)), store.debit(debit('us', 10)), store.debit(debit('us', 10))]);
    expect(wrong.status === 'rejected' && String(wrong.reason)).toMatch(/WRONGTYPE/);
    expect(right.status).toBe('fulfilled');
    expect(await redis.hget(`${prefix}:{acme}:us`, 'tokens')).toBe('8');
  });
});
