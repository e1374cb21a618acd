import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildCostModel } from '../plugins/cost/calculator.js';
import { rateLimitPlugin, type RateLimitContext } from '../plugins/rate-limit/index.js';
import { memoryBucketStore } from '../plugins/rate-limit/memory-store.js';
import { rateLimitSettings } from '../plugins/rate-limit/settings.js';
import type { BucketDebit, BucketStore } from '../plugins/rate-limit/store.js';

// products is global (charged where the gateway runs), me is regional (charged in the tenant's home region).
const typeDefs = /* GraphQL */ `
  directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
  type Product { id: ID! }
  type Order { id: ID! }
  type User { id: ID! orders(first: Int = 5): [Order!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false) }
  type Query {
    products(first: Int = 10): [Product!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)
    me: User
  }
`;
const model = buildCostModel(typeDefs, { siteOf: (type, field) => (type === 'Product' || field === 'products' ? 'local' : 'home') });
const products = vi.fn(() => [{ id: 'p1' }]);
const resolvers = { Query: { products, me: () => ({ id: 'u1', orders: [] }) } };

const settings = rateLimitSettings.parse({
  key_prefix: 'rl',
  default_plan: 'free',
  plans: {
    free: { capacity: 10, refill_per_second: 1, regions: { us: { capacity: 20, refill_per_second: 2 } } },
    pro: { capacity: 1_000, refill_per_second: 100 },
  },
  anonymous: { capacity: 6, refill_per_second: 0.5 },
});

const servers: ApolloServer<RateLimitContext>[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
  products.mockClear();
});

/** A server in region eu over the memory store on a fake clock, recording every debit it asks for. */
async function gatewayInEu({ registry = new Registry(), mode = 'enforce' }: { registry?: Registry; mode?: 'enforce' | 'measure' } = {}) {
  const clock = { ms: 1_000_000 };
  const memory = memoryBucketStore(() => clock.ms);
  const debits: (readonly BucketDebit[])[] = [];
  const store: BucketStore = { debit: (buckets) => (debits.push(buckets), memory.debit(buckets)), close: () => memory.close() };
  const server = new ApolloServer<RateLimitContext>({
    typeDefs,
    resolvers,
    plugins: [ApolloServerPluginCacheControlDisabled(), rateLimitPlugin({ model: () => model, settings: { ...settings, mode }, maxOperationCost: 50, gatewayRegion: 'eu', store, registry })],
  });
  servers.push(server);
  await server.start();
  const run = async (query: string, contextValue: RateLimitContext) => {
    const response = await server.executeOperation({ query }, { contextValue });
    const single = response.body.kind === 'single' ? response.body.singleResult : undefined;
    return {
      status: response.http.status,
      headers: Object.fromEntries(response.http.headers),
      errors: single?.errors,
      ...(single?.extensions ? { extensions: single.extensions } : {}),
    };
  };
  return { run, debits, clock, registry };
}

const usTenant: RateLimitContext = { caller: { tenantId: 'acme', region: 'us', billingPlan: 'free' }, clientKey: '198.51.100.1' };
const euTenant: RateLimitContext = { caller: { tenantId: 'globex', region: 'eu', billingPlan: 'unknown-plan' }, clientKey: '198.51.100.2' };
const anonymous = (clientKey: string): RateLimitContext => ({ caller: null, clientKey });
/** Every RateLimit field of a response that debited one bucket: the region's policy (a window of capacity / refill seconds) and what it has left. */
const limitHeaders = (limit: number, remaining: number, reset: number, { policy = 'eu', window = 10 }: { policy?: string; window?: number } = {}) => ({
  'ratelimit-policy': `"${policy}";q=${limit};w=${window};geofed-unit="cost"`,
  ratelimit: `"${policy}";r=${remaining};t=${reset}`,
  'ratelimit-limit': String(limit),
  'ratelimit-remaining': String(remaining),
  'ratelimit-reset': String(reset),
});

describe('rateLimitPlugin', () => {
  it('debits the home part in the tenant\'s region and the global part in the gateway\'s, at once', async () => {
    const { run, debits } = await gatewayInEu();
    // Home: me (1) + 3 orders; local: 4 products. The us override sizes the home bucket.
    const served = await run('{ me { orders(first: 3) { id } } products(first: 4) { id } }', usTenant);
    expect(debits).toEqual([
      [
        { key: 'rl:{acme}:us', capacity: 20, refillPerSecond: 2, cost: 4 },
        { key: 'rl:{acme}:eu', capacity: 10, refillPerSecond: 1, cost: 4 },
      ],
    ]);
    // A policy and a service limit per bucket; the older fields describe the one with the least left in proportion: eu, 6 of 10.
    expect(served).toEqual({
      status: undefined,
      headers: {
        'ratelimit-policy': '"us";q=20;w=10;geofed-unit="cost", "eu";q=10;w=10;geofed-unit="cost"',
        ratelimit: '"us";r=16;t=2, "eu";r=6;t=4',
        'ratelimit-limit': '10',
        'ratelimit-remaining': '6',
        'ratelimit-reset': '4',
      },
      errors: undefined,
    });
  });

  it('charges one bucket when home is the gateway\'s region, sized by the default plan for an unknown one', async () => {
    const { run, debits } = await gatewayInEu();
    await run('{ me { orders(first: 3) { id } } products(first: 4) { id } }', euTenant);
    expect(debits).toEqual([[{ key: 'rl:{globex}:eu', capacity: 10, refillPerSecond: 1, cost: 8 }]]);
  });

  it('refuses an operation the budget cannot pay with RATE_LIMITED, before any resolver runs', async () => {
    const { run, registry } = await gatewayInEu();
    await run('{ products(first: 8) { id } }', usTenant);
    products.mockClear();
    expect(await run('{ products(first: 8) { id } }', usTenant)).toEqual({
      status: 429,
      headers: { ...limitHeaders(10, 2, 8), 'retry-after': '6' },
      errors: [
        {
          message: 'This operation costs 8 and the budget of region eu has 2 left; retry in 6 s.',
          extensions: { code: 'RATE_LIMITED', cost: 8, remaining: 2, retryAfterSeconds: 6 },
        },
      ],
    });
    expect(products.mock.calls).toEqual([]);
    expect((await registry.getSingleMetric('geofed_rate_limited_total')?.get())?.values).toEqual([{ value: 1, labels: { region: 'eu' } }]);
  });

  it('refuses the whole operation when one of its buckets is short, and debits none of them', async () => {
    const { run } = await gatewayInEu();
    await run('{ products(first: 9) { id } }', usTenant);
    const refused = await run('{ me { orders(first: 3) { id } } products(first: 4) { id } }', usTenant);
    expect(refused.errors?.[0]?.message).toEqual('This operation costs 8 and the budget of region eu has 1 left; retry in 3 s.');
    // The us bucket was not touched by the refusal: it still holds all 20.
    expect((await run('{ me { orders(first: 15) { id } } }', usTenant)).headers).toEqual(limitHeaders(20, 4, 8, { policy: 'us' }));
  });

  it('serves again once the bucket has refilled', async () => {
    const { run, clock } = await gatewayInEu();
    await run('{ products(first: 8) { id } }', usTenant);
    clock.ms += 5_999;
    expect((await run('{ products(first: 8) { id } }', usTenant)).status).toEqual(429);
    clock.ms += 1;
    expect(await run('{ products(first: 8) { id } }', usTenant)).toEqual({ status: undefined, headers: limitHeaders(10, 0, 10), errors: undefined });
  });

  it('gives each anonymous client key its own budget in the gateway\'s region', async () => {
    const { run, debits } = await gatewayInEu();
    expect((await run('{ products(first: 6) { id } }', anonymous('203.0.113.7'))).headers).toEqual(limitHeaders(6, 0, 12, { window: 12 }));
    const refused = await run('{ products(first: 1) { id } }', anonymous('203.0.113.7'));
    expect({ status: refused.status, retryAfter: refused.headers['retry-after'] }).toEqual({ status: 429, retryAfter: '2' });
    expect((await run('{ products(first: 6) { id } }', anonymous('203.0.113.8'))).status).toEqual(undefined);
    expect(debits.map((buckets) => buckets.map((bucket) => bucket.key))).toEqual([['rl:{anon:203.0.113.7}:eu'], ['rl:{anon:203.0.113.7}:eu'], ['rl:{anon:203.0.113.8}:eu']]);
  });

  it('leaves an operation over the maximum cost and one that costs nothing alone', async () => {
    const { run, debits } = await gatewayInEu();
    // Over the maximum: the cost plugin refuses it; debiting too would charge for a refusal.
    expect(await run('{ products(first: 51) { id } }', usTenant)).toEqual({ status: undefined, headers: {}, errors: undefined });
    expect(await run('{ __typename }', usTenant)).toEqual({ status: undefined, headers: {}, errors: undefined });
    expect(debits).toEqual([]);
  });

  it('is built again with the same registry, as on a reload, and its series count on', async () => {
    const registry = new Registry();
    const first = await gatewayInEu({ registry });
    await first.run('{ products(first: 8) { id } }', usTenant);
    expect((await first.run('{ products(first: 8) { id } }', usTenant)).status).toEqual(429);
    const second = await gatewayInEu({ registry });
    await second.run('{ products(first: 8) { id } }', usTenant);
    expect((await second.run('{ products(first: 8) { id } }', usTenant)).status).toEqual(429);
    expect((await registry.getSingleMetric('geofed_rate_limited_total')?.get())?.values).toEqual([{ value: 2, labels: { region: 'eu' } }]);
  });
});

describe('rateLimitPlugin in measure mode', () => {
  it('serves an operation its budget cannot pay, with the verdict in extensions.rateLimit, and takes nothing for it', async () => {
    const { run, registry } = await gatewayInEu({ mode: 'measure' });
    expect(await run('{ products(first: 8) { id } }', usTenant)).toEqual({
      status: undefined,
      headers: limitHeaders(10, 2, 8),
      errors: undefined,
      extensions: { rateLimit: { mode: 'measure', cost: 8, exceeded: false, remaining: 2 } },
    });
    products.mockClear();
    expect(await run('{ products(first: 8) { id } }', usTenant)).toEqual({
      status: undefined,
      headers: limitHeaders(10, 2, 8),
      errors: undefined,
      extensions: { rateLimit: { mode: 'measure', cost: 8, exceeded: true, remaining: 2, retryAfterSeconds: 6 } },
    });
    expect(products.mock.calls).toHaveLength(1);
    // The refused debit took nothing, as enforce would have left the bucket: 2 still pay for 2.
    expect((await run('{ products(first: 2) { id } }', usTenant)).extensions).toEqual({ rateLimit: { mode: 'measure', cost: 2, exceeded: false, remaining: 0 } });
    expect((await registry.getSingleMetric('geofed_rate_limit_measured_exceeded_total')?.get())?.values).toEqual([{ value: 1, labels: { region: 'eu' } }]);
    expect((await registry.getSingleMetric('geofed_rate_limited_total')?.get())?.values).toEqual([]);
  });

  it('adds nothing to a response in enforce mode', async () => {
    const { run } = await gatewayInEu();
    expect(await run('{ products(first: 8) { id } }', usTenant)).toEqual({ status: undefined, headers: limitHeaders(10, 2, 8), errors: undefined });
  });
});
