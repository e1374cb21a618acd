import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { buildCostModel } from '../plugins/cost/calculator.js';
import { rateLimitPlugin, type RateLimitContext } from '../plugins/rate-limit/index.js';
import { rateLimitSettings } from '../plugins/rate-limit/settings.js';
import { memoryBucketStore } from '../plugins/rate-limit/memory-store.js';
import type { BucketStore, DebitResult } from '../plugins/rate-limit/store.js';
import { logger } from '../runtime/logger.js';

const typeDefs = 'type Product { id: ID! } type Query { products: [Product!]! }';
const model = buildCostModel(typeDefs);
const products = vi.fn(() => [{ id: 'p1' }]);
const tenant: RateLimitContext = { caller: { tenantId: 'acme', region: 'eu', billingPlan: 'free' }, clientKey: '198.51.100.1' };

/** A store that never answers, as a partitioned Redis does until the TCP timeout. */
const silentStore: BucketStore = { debit: () => new Promise(() => {}), close: async () => {} };
const refusingStore: BucketStore = {
  debit: async () => {
    throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
  },
  close: async () => {},
};

const servers: ApolloServer<RateLimitContext>[] = [];
let logged: MockInstance;
beforeEach(() => {
  logged = vi.spyOn(logger, 'error').mockImplementation(() => undefined);
});
afterEach(async () => {
  vi.useRealTimers();
  logged.mockRestore();
  products.mockClear();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

/** A store that answers like the memory store until told to fail, as a Redis that goes away. */
function failingLater() {
  const memory = memoryBucketStore();
  const state = { down: false };
  const store: BucketStore = { debit: (buckets) => (state.down ? refusingStore.debit(buckets) : memory.debit(buckets)), close: () => memory.close() };
  return { store, state };
}

async function gateway(store: BucketStore, policy: 'open' | 'closed' | 'unmetered', clock: () => number = Date.now, mode: 'enforce' | 'measure' = 'enforce') {
  const registry = new Registry();
  const settings = rateLimitSettings.parse({ mode, on_store_error: policy, gateways: 3, plans: { free: { capacity: 100, refill_per_second: 1 } } });
  const server = new ApolloServer<RateLimitContext>({
    typeDefs,
    resolvers: { Query: { products } },
    plugins: [ApolloServerPluginCacheControlDisabled(), rateLimitPlugin({ model: () => model, settings, maxOperationCost: 1_000, gatewayRegion: 'eu', store, registry, now: clock })],
  });
  servers.push(server);
  await server.start();
  const run = async () => {
    const response = await server.executeOperation({ query: '{ products { id } }' }, { contextValue: tenant });
    const single = response.body.kind === 'single' ? response.body.singleResult : undefined;
    return { status: response.http.status, headers: Object.fromEntries(response.http.headers), data: single?.data, errors: single?.errors, resolved: products.mock.calls.length, rateLimit: single?.extensions?.rateLimit };
  };
  const metric = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values;
  const storeErrors = () => metric('geofed_rate_limit_store_errors_total');
  return { run, storeErrors, metric };
}

/** Runs one operation against a silent store on fake timers: pending until exactly the store timeout (250 ms by default). */
async function answerAfterTimeout(run: () => Promise<unknown>) {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  let answered = false;
  const answer = run().finally(() => {
    answered = true;
  });
  await vi.advanceTimersByTimeAsync(249);
  const before = answered;
  await vi.advanceTimersByTimeAsync(1);
  return { answeredBeforeTimeout: before, outcome: await answer };
}

const unavailable = {
  status: 503,
  headers: { 'retry-after': '1' },
  data: undefined,
  errors: [{ message: 'Budgets cannot be checked right now, so the operation was not run; retry shortly.', extensions: { code: 'RATE_LIMIT_UNAVAILABLE' } }],
  resolved: 0,
};

describe('rateLimitPlugin when its store cannot be reached', () => {
  it('unmetered: admits the operation unpriced once the store timeout is over, without RateLimit headers', async () => {
    const { run, storeErrors } = await gateway(silentStore, 'unmetered');
    expect(await answerAfterTimeout(run)).toEqual({
      answeredBeforeTimeout: false,
      outcome: { status: undefined, headers: {}, data: { products: [{ id: 'p1' }] }, errors: undefined, resolved: 1 },
    });
    expect(await storeErrors()).toEqual([{ value: 1, labels: { policy: 'unmetered' } }]);
    expect(logged.mock.calls).toEqual([[{ err: 'no answer within 250 ms', policy: 'unmetered' }, 'rate-limit store unreachable']]);
  });

  it('open: debits the gateway\'s local share once the store timeout is over, without RateLimit headers', async () => {
    const { run, storeErrors, metric } = await gateway(silentStore, 'open');
    expect(await answerAfterTimeout(run)).toEqual({
      answeredBeforeTimeout: false,
      outcome: { status: undefined, headers: {}, data: { products: [{ id: 'p1' }] }, errors: undefined, resolved: 1 },
    });
    expect(await storeErrors()).toEqual([{ value: 1, labels: { policy: 'open' } }]);
    expect(await metric('geofed_rate_limit_fallback_debits_total')).toEqual([{ value: 1, labels: { outcome: 'admitted' } }]);
    expect(logged.mock.calls).toEqual([[{ err: 'no answer within 250 ms', policy: 'open' }, 'rate-limit store unreachable']]);
  });

  it('open: a bucket never seen gives this gateway capacity / gateways, then RATE_LIMITED at its share of the refill', async () => {
    const { run, metric } = await gateway(refusingStore, 'open');
    // Each operation costs 10 (10 products by default); capacity 100 over 3 gateways: 3 operations, 3.33 left.
    for (let i = 0; i < 3; i += 1) expect((await run()).status).toEqual(undefined);
    products.mockClear();
    expect(await run()).toEqual({
      status: 429,
      // A third of a token a second here: the missing 6.67 take 20 s.
      headers: { 'retry-after': '20' },
      data: undefined,
      errors: [
        {
          message: 'This operation costs 10 and this gateway\'s share of the budget of region eu has 3 left while the budget store cannot be reached; retry in 20 s.',
          extensions: { code: 'RATE_LIMITED', cost: 10, remaining: 3, retryAfterSeconds: 20 },
        },
      ],
      resolved: 0,
    });
    expect(await metric('geofed_rate_limit_fallback_debits_total')).toEqual([
      { value: 3, labels: { outcome: 'admitted' } },
      { value: 1, labels: { outcome: 'refused' } },
    ]);
    expect(await metric('geofed_rate_limit_store_error_refusals_total')).toEqual([{ value: 1, labels: { policy: 'open' } }]);
    expect(await metric('geofed_rate_limited_total')).toEqual([{ value: 1, labels: { region: 'eu' } }]);
  });

  it('open: the share starts from what the store last said was left', async () => {
    const { store, state } = failingLater();
    const clock = { ms: 5_000_000 };
    const { run } = await gateway(store, 'open', () => clock.ms);
    // The store answers 4 debits of 10: 60 left, so 20 here once it is gone.
    for (let i = 0; i < 4; i += 1) expect((await run()).status).toEqual(undefined);
    state.down = true;
    products.mockClear();
    const outcomes = [];
    for (let i = 0; i < 4; i += 1) outcomes.push((await run()).status);
    expect(outcomes).toEqual([undefined, undefined, 429, 429]);
    expect(products.mock.calls.length).toEqual(2);
  });

  it('open: a bucket last seen empty admits nothing while the store is gone, and refills at its share', async () => {
    const { store, state } = failingLater();
    const clock = { ms: 5_000_000 };
    const { run } = await gateway(store, 'open', () => clock.ms);
    for (let i = 0; i < 10; i += 1) await run();
    expect((await run()).status).toEqual(429);
    state.down = true;
    expect((await run()).status).toEqual(429);
    // 1 token a second over 3 gateways: the 10 an operation costs after 30 s.
    clock.ms += 29_999;
    expect((await run()).status).toEqual(429);
    clock.ms += 1;
    expect((await run()).status).toEqual(undefined);
    expect((await run()).status).toEqual(429);
  });

  it('open: an answer that comes after the timeout still lowers the share', async () => {
    let answer: ((result: DebitResult) => void) | undefined;
    const late: BucketStore = { debit: () => new Promise((resolve) => (answer = resolve)), close: async () => {} };
    const { run } = await gateway(late, 'open');
    expect((await answerAfterTimeout(run)).outcome).toMatchObject({ resolved: 1 });
    answer!({ allowed: false, buckets: [{ key: 'geofed:rl:{acme}:eu', capacity: 100, remaining: 0, resetSeconds: 100, retryAfterSeconds: 1 }] });
    await Promise.resolve();
    products.mockClear();
    expect(await answerAfterTimeout(run)).toMatchObject({ outcome: { status: 429, resolved: 0 } });
  });

  it('uses an answer that came in while the process was too busy to read it: the timeout is the store\'s, not this process\'s lag', async () => {
    // A store whose answer is a byte on a real socket. The byte is sent at once; then this process is blocked past
    // the timeout, as a starved gateway is, so that when it runs again the timeout and the answer are both due.
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const accepted = new Promise<Socket>((done) => server.once('connection', done));
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const [peer] = await Promise.all([accepted, new Promise((done) => client.once('connect', done))]);
    const memory = memoryBucketStore();
    const starved: BucketStore = {
      debit: (buckets) =>
        new Promise((resolve) => {
          client.once('data', () => resolve(memory.debit(buckets)));
          queueMicrotask(() => {
            peer.write('x');
            const until = Date.now() + 400;
            while (Date.now() < until);
          });
        }),
      close: async () => {},
    };
    try {
      for (const policy of ['closed', 'unmetered'] as const) {
        const { run, storeErrors } = await gateway(starved, policy);
        expect(await run()).toMatchObject({ status: undefined, headers: { 'ratelimit-limit': '100' }, resolved: 1 });
        expect(await storeErrors()).toEqual([]);
        products.mockClear();
      }
    } finally {
      client.destroy();
      peer.destroy();
      await new Promise((done) => server.close(done));
    }
  });

  it('closed: refuses it with RATE_LIMIT_UNAVAILABLE once the store timeout is over', async () => {
    const { run, storeErrors, metric } = await gateway(silentStore, 'closed');
    expect(await answerAfterTimeout(run)).toEqual({ answeredBeforeTimeout: false, outcome: unavailable });
    expect(await storeErrors()).toEqual([{ value: 1, labels: { policy: 'closed' } }]);
    expect(await metric('geofed_rate_limit_store_error_refusals_total')).toEqual([{ value: 1, labels: { policy: 'closed' } }]);
    expect(await metric('geofed_rate_limit_fallback_debits_total')).toEqual([]);
  });

  it('applies the policy at once to a store that fails', async () => {
    const open = await gateway(refusingStore, 'open');
    expect((await open.run()).resolved).toEqual(1);
    products.mockClear();
    const unmetered = await gateway(refusingStore, 'unmetered');
    expect((await unmetered.run()).resolved).toEqual(1);
    products.mockClear();
    const closed = await gateway(refusingStore, 'closed');
    expect(await closed.run()).toEqual(unavailable);
  });

  it('counts every failure but logs an outage once per 10 s', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_000_000 });
    const { run, storeErrors } = await gateway(refusingStore, 'open');
    await run();
    await run();
    vi.setSystemTime(1_010_000);
    await run();
    const line = [{ err: 'connect ECONNREFUSED 127.0.0.1:6379', policy: 'open' }, 'rate-limit store unreachable'];
    expect(logged.mock.calls).toEqual([line]);
    vi.setSystemTime(1_010_001);
    await run();
    expect(logged.mock.calls).toEqual([line, line]);
    expect(await storeErrors()).toEqual([{ value: 4, labels: { policy: 'open' } }]);
  });

  it('measure: serves what closed would refuse, and says the store could not answer', async () => {
    const { run, metric } = await gateway(refusingStore, 'closed', Date.now, 'measure');
    expect(await run()).toMatchObject({ status: undefined, errors: undefined, resolved: 1, rateLimit: { mode: 'measure', cost: 10, storeUnavailable: true } });
    expect(await metric('geofed_rate_limit_store_error_refusals_total')).toEqual([]);
  });

  it('measure: serves what an open share cannot pay, and says the share decided', async () => {
    const { run, metric } = await gateway(refusingStore, 'open', Date.now, 'measure');
    // capacity 100 over 3 gateways: 3 operations of 10, then the share is short.
    for (const remaining of [23, 13, 3]) expect((await run()).rateLimit).toEqual({ mode: 'measure', cost: 10, exceeded: false, remaining, local: true });
    expect(await run()).toMatchObject({ status: undefined, resolved: 4, rateLimit: { mode: 'measure', cost: 10, exceeded: true, remaining: 3, retryAfterSeconds: 20, local: true } });
    expect(await metric('geofed_rate_limit_fallback_debits_total')).toEqual([
      { value: 3, labels: { outcome: 'admitted' } },
      { value: 1, labels: { outcome: 'refused' } },
    ]);
    expect(await metric('geofed_rate_limit_store_error_refusals_total')).toEqual([]);
  });
});
