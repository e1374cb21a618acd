// A store outage under load, with the real servers: three gateways (us, eu and apac) share acme's eu bucket
// in Redis through the Upstash REST proxy, behind a proxy of dev/ that can make the store slow (replies held
// back for good, so every debit outlives store_timeout_ms: the commands still land in Redis) and then stop it
// (connections refused).
// `{ me { name } }` costs 1 and is charged to acme's home region, eu, whichever gateway serves it.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { GeofedConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { startSlowProxy, type SlowProxy } from '../dev/slow-proxy.js';
import { startUpstashRestProxy, type UpstashRestProxy } from '../dev/upstash-rest-proxy.js';
import { metricValue } from './fixtures/metrics.js';
import { waitFor } from './fixtures/wait.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';

const prefix = `geofed:test:outage:${randomBytes(4).toString('hex')}`;
const query = '{ me { name } }';
// Far above what a healthy debit takes on a busy machine: only the outage makes debits miss it.
const timeoutMs = 1_500;
let t: TestStack;
let upstash: UpstashRestProxy;
let store: SlowProxy;
let redis: Redis;
let token: string;

beforeAll(async () => {
  t = await startTestStack('postgres');
  upstash = await startUpstashRestProxy();
  store = await startSlowProxy({ target: upstash.url });
  redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect().catch((error: Error) => {
    throw new Error(`Redis on 127.0.0.1:6379 is needed by this suite (run .ci/run, or start it): ${error.message}`);
  });
  token = await devToken('acme', 'usr_acme_1');
});
afterAll(async () => {
  const keys = await redis?.keys(`${prefix}*`);
  if (keys?.length) await redis.del(...keys);
  redis?.disconnect();
  await store?.close();
  await upstash?.stop();
  await t?.stop();
});

let gateways: RunningGateway[] = [];
let keyPrefix: string;
beforeEach(async () => {
  store.setDelay(0);
  await store.start();
  keyPrefix = `${prefix}:${randomBytes(4).toString('hex')}`;
});
afterEach(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  gateways = [];
});

/** Three gateways of one deployment (gateways: 3), each with the policy, sharing acme's eu bucket of `capacity` that never refills. */
async function threeGateways(policy: GeofedConfig['rateLimits']['onStoreError'], capacity: number): Promise<string[]> {
  const base = t.stack.config;
  const rateLimits: GeofedConfig['rateLimits'] = {
    ...base.rateLimits,
    keyPrefix,
    onStoreError: policy,
    storeTimeoutMs: timeoutMs,
    gateways: 3,
    defaultBillingPlan: 'free',
    billingPlans: { free: { capacity, refillPerSecond: 0, regions: {} } },
  };
  const env = gatewayEnv({ UPSTASH_REDIS_REST_URL: store.url, UPSTASH_REDIS_REST_TOKEN: upstash.token });
  gateways = await Promise.all(['us', 'eu', 'apac'].map((region) => startGateway({ config: { ...base, gateway: { ...base.gateway, region }, rateLimits }, env, port: 0 })));
  return gateways.map((gateway) => `${gateway.url}/graphql`);
}

interface Outcome {
  readonly gateway: number;
  readonly status: number;
  readonly code: string | undefined;
}

/** `total` operations, `concurrency` at a time, spread over the gateways in turn. */
async function load(urls: readonly string[], total: number, concurrency = 24): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const gateway = next++ % urls.length;
        const result = await postGraphQL(urls[gateway]!, query, { token });
        outcomes.push({ gateway, status: result.status, code: result.body.errors?.[0]?.extensions?.code });
      }
    }),
  );
  return outcomes;
}
const admitted = (outcomes: readonly Outcome[]) => outcomes.filter((outcome) => outcome.status === 200).length;
const tokensInRedis = async () => Number(await redis.hget(`${keyPrefix}:{acme}:eu`, 'tokens'));
/** The sum of one series over the three gateways. */
const summed = async (series: string) => (await Promise.all(gateways.map((gateway) => metricValue(gateway.url, series)))).reduce((sum, value) => sum + value, 0);

describe('a store outage under load, three gateways sharing one bucket', () => {
  it('open: slowed then stopped, the gateways together admit no more than the bound of docs/cost-and-rate-limits.md', async () => {
    const capacity = 150;
    const urls = await threeGateways('open', capacity);
    // The store is healthy: about half of the bucket is spent, at 24 at a time.
    const healthy = await load(urls, 75);
    expect(healthy.every((outcome) => outcome.status === 200)).toBe(true);
    // Each gateway then sees the bucket once more, alone: s_g, what it last saw left (an answer of the store
    // carries RateLimit-Remaining; one that came too late, on a loaded machine, is asked again).
    const seen: number[] = [];
    let primed = 0;
    for (const url of urls) {
      const answer = await waitFor(() => postGraphQL(url, query, { token }).finally(() => (primed += 1)), { until: (result) => result.headers.has('ratelimit-remaining'), what: 'an answer of the store' });
      seen.push(Number(answer.headers.get('ratelimit-remaining')));
    }
    const leftAtOutage = await tokensInRedis();
    const localBefore = await summed('geofed_rate_limit_fallback_debits_total{outcome="admitted"}');

    // Slowed: every reply is held back, but each command that was sent still lands in Redis.
    store.setDelay(Infinity);
    const slowed = await load(urls, 90);
    // Stopped: the store's port refuses connections.
    await store.stop();
    const stopped = await load(urls, 60);

    // Everything after the outage began was admitted by a gateway's local share, and their sum is bounded by the
    // mean of what each gateway last saw (a bucket that never refills): Σ s_g / 3.
    const bound = seen.reduce((sum, left) => sum + left, 0) / 3;
    const duringOutage = admitted(slowed) + admitted(stopped);
    expect(duringOutage).toBeLessThanOrEqual(bound);
    const total = admitted(healthy) + primed + duringOutage;
    expect(total).toBeLessThanOrEqual(capacity + (bound - leftAtOutage) + localBefore);
    // The local limits did admit (each share held a third of what its gateway saw), and refused the rest with 429.
    expect(duringOutage).toBeGreaterThan(0);
    expect([...slowed, ...stopped].filter((outcome) => outcome.status !== 200).map((outcome) => `${outcome.status} ${outcome.code}`)).toEqual(Array(150 - duringOutage).fill('429 RATE_LIMITED'));
    expect(await summed('geofed_rate_limit_fallback_debits_total{outcome="admitted"}')).toBe(localBefore + duringOutage);
    expect(await summed('geofed_rate_limit_store_error_refusals_total{policy="open"}')).toBe(150 - duringOutage);
    expect(await summed('geofed_rate_limit_store_errors_total{policy="open"}')).toBeGreaterThanOrEqual(150);
    // A debit that timed out may still have been applied: the bucket in Redis is lower than when the outage began.
    expect(await tokensInRedis()).toBeLessThan(leftAtOutage);
  });

  it('open: a bucket each gateway last saw empty admits nothing while the store is gone', async () => {
    const capacity = 30;
    const urls = await threeGateways('open', capacity);
    expect(admitted(await load(urls, 45))).toBe(capacity);
    // Every gateway has now seen the bucket empty (each refused at least once by the store).
    for (const url of urls) expect((await postGraphQL(url, query, { token })).status).toBe(429);
    await store.stop();
    const stopped = await load(urls, 60);
    expect(stopped.map((outcome) => `${outcome.status} ${outcome.code}`)).toEqual(Array(60).fill('429 RATE_LIMITED'));
    expect(await summed('geofed_rate_limit_fallback_debits_total{outcome="refused"}')).toBe(60);
  });

  it('closed: refuses every operation while the store is slow or gone', async () => {
    const urls = await threeGateways('closed', 1_000);
    expect(admitted(await load(urls, 30))).toBe(30);
    store.setDelay(Infinity);
    const slowed = await load(urls, 30);
    await store.stop();
    const stopped = await load(urls, 30);
    expect([...slowed, ...stopped].map((outcome) => `${outcome.status} ${outcome.code}`)).toEqual(Array(60).fill('503 RATE_LIMIT_UNAVAILABLE'));
    expect(await summed('geofed_rate_limit_store_error_refusals_total{policy="closed"}')).toBe(60);
  });

  it('unmetered: admits every operation while the store is gone, however far past the bucket (the overspend it allows)', async () => {
    const capacity = 30;
    const urls = await threeGateways('unmetered', capacity);
    expect(admitted(await load(urls, 30))).toBe(capacity);
    await store.stop();
    const stopped = await load(urls, 90);
    // Three times the bucket, and it would be any number more: the outage's length and the load decide.
    expect(admitted(stopped)).toBe(90);
    expect(await summed('geofed_rate_limit_store_errors_total{policy="unmetered"}')).toBe(90);
  });
});
