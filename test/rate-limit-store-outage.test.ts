import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { buildCostModel } from '../plugins/cost/calculator.js';
import { rateLimitPlugin, type RateLimitContext } from '../plugins/rate-limit/index.js';
import { rateLimitSettings } from '../plugins/rate-limit/settings.js';
import type { BucketStore } from '../plugins/rate-limit/store.js';
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

async function gateway(store: BucketStore, policy: 'open' | 'closed') {
  const registry = new Registry();
  const settings = rateLimitSettings.parse({ on_store_error: policy, plans: { free: { capacity: 100, refill_per_second: 1 } } });
  const server = new ApolloServer<RateLimitContext>({
    typeDefs,
    resolvers: { Query: { products } },
    plugins: [ApolloServerPluginCacheControlDisabled(), rateLimitPlugin({ model: () => model, settings, maxOperationCost: 1_000, gatewayRegion: 'eu', store, registry })],
  });
  servers.push(server);
  await server.start();
  const run = async () => {
    const response = await server.executeOperation({ query: '{ products { id } }' }, { contextValue: tenant });
    const single = response.body.kind === 'single' ? response.body.singleResult : undefined;
    return { status: response.http.status, headers: Object.fromEntries(response.http.headers), data: single?.data, errors: single?.errors, resolved: products.mock.calls.length };
  };
  const storeErrors = async () => (await registry.getSingleMetric('geofed_rate_limit_store_errors_total')?.get())?.values;
  return { run, storeErrors };
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
  it('open: admits the operation once the store timeout is over, without RateLimit headers', async () => {
    const { run, storeErrors } = await gateway(silentStore, 'open');
    expect(await answerAfterTimeout(run)).toEqual({
      answeredBeforeTimeout: false,
      outcome: { status: undefined, headers: {}, data: { products: [{ id: 'p1' }] }, errors: undefined, resolved: 1 },
    });
    expect(await storeErrors()).toEqual([{ value: 1, labels: { policy: 'open' } }]);
    expect(logged.mock.calls).toEqual([[{ err: 'no answer within 250 ms', policy: 'open' }, 'rate-limit store unreachable']]);
  });

  it('closed: refuses it with RATE_LIMIT_UNAVAILABLE once the store timeout is over', async () => {
    const { run, storeErrors } = await gateway(silentStore, 'closed');
    expect(await answerAfterTimeout(run)).toEqual({ answeredBeforeTimeout: false, outcome: unavailable });
    expect(await storeErrors()).toEqual([{ value: 1, labels: { policy: 'closed' } }]);
  });

  it('applies the policy at once to a store that fails', async () => {
    const open = await gateway(refusingStore, 'open');
    expect((await open.run()).resolved).toEqual(1);
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
});
