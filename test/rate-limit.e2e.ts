import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { seedOrders } from '../subgraphs/shared/seed-data.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';

// Cost and per-(tenant, region) budgets end to end, on the in-memory store. Buckets never refill here,
// so every number below is exact: me { orders { items { product { name } } } } costs
// 1 (me) + 10 (orders, first = 10) + 10 × 5 (items, assumedSize 5) + 50 (product) = 111, all in the home region.
const meQuery = '{ me { orders { items { product { name } } } } }';
const meCost = 1 + 10 + 10 * 5 + 10 * 5;
let t: TestStack;

beforeAll(async () => {
  t = await startTestStack('postgres', {
    configure: (config) => ({
      ...config,
      cost: { ...config.cost, maxOperationCost: 1000 },
      rateLimits: {
        ...config.rateLimits,
        defaultBillingPlan: 'free',
        billingPlans: {
          free: { capacity: 100_000, refillPerSecond: 0, regions: {} },
          pro: { capacity: 250, refillPerSecond: 0, regions: {} },
        },
        anonymous: { capacity: 30, refillPerSecond: 0, clientKey: 'address' },
      },
    }),
  });
});
afterAll(async () => {
  await t?.stop();
});

// Every test has a gateway of its own: fresh buckets under a key prefix of its own, so no number below
// depends on what another test spent.
let gateway: RunningGateway | undefined;
let url: string;
beforeEach(async () => {
  const config = { ...t.stack.config, rateLimits: { ...t.stack.config.rateLimits, keyPrefix: `geofed:test:rl:${randomUUID()}` } };
  gateway = await startGateway({ config, env: gatewayEnv({}), port: 0 });
  url = `${gateway.url}/graphql`;
});
afterEach(async () => {
  await gateway?.stop();
  gateway = undefined;
});

const subgraphRequests = () => t.stack.subgraphs.reduce((sum, s) => sum + s.requestCount(), 0);
const header = (result: { headers: Headers }, name: string) => result.headers.get(name);

describe('cost and regional budgets', () => {
  it('prices the operation, reports estimated and actual cost, and debits the home region', async () => {
    const token = await devToken('acme', 'usr_acme_1');
    const result = await postGraphQL(url, meQuery, { token });
    expect(result.status).toBe(200);
    const items = seedOrders.filter((o) => o.userId === 'usr_acme_1').sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()).slice(0, 10).reduce((n, o) => n + o.items.length, 0);
    expect((result.body as { extensions?: { cost?: unknown } }).extensions?.cost).toEqual({ estimated: meCost, actual: 1 + 10 + items + items });
    expect([header(result, 'ratelimit-limit'), header(result, 'ratelimit-remaining'), header(result, 'ratelimit-reset')]).toEqual(['250', String(250 - meCost), '3600']);
  });

  it('refuses the operation that would overdraw the bucket, whole, with 429 and its headers', async () => {
    const token = await devToken('acme', 'usr_acme_2');
    for (let i = 0; i < 2; i += 1) expect((await postGraphQL(url, meQuery, { token })).status).toBe(200);
    const before = subgraphRequests();
    const refused = await postGraphQL(url, meQuery, { token });
    expect(refused.status).toBe(429);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', cost: meCost, remaining: 250 - 2 * meCost, retryAfterSeconds: 3600 });
    expect([header(refused, 'retry-after'), header(refused, 'ratelimit-limit'), header(refused, 'ratelimit-remaining')]).toEqual(['3600', '250', String(250 - 2 * meCost)]);
    expect(subgraphRequests(), 'no subgraph was called').toBe(before);
  });

  it('keeps the same tenant\'s budget in another region, and other tenants, untouched', async () => {
    const home = await postGraphQL(url, meQuery, { token: await devToken('acme', 'usr_acme_1') });
    expect(header(home, 'ratelimit-remaining')).toBe(String(250 - meCost));
    const local = await postGraphQL(url, '{ products(first: 5) { name } }', { token: await devToken('acme', 'usr_acme_1') });
    expect(local.status).toBe(200);
    expect([header(local, 'ratelimit-limit'), header(local, 'ratelimit-remaining')]).toEqual(['250', '245']);
    const other = await postGraphQL(url, meQuery, { token: await devToken('umbrella', 'usr_umbrella_1') });
    expect(other.status).toBe(200);
    expect(header(other, 'ratelimit-remaining')).toBe(String(250 - meCost));
  });

  it('refuses an operation over max_operation_cost before any subgraph is called, without debiting', async () => {
    const token = await devToken('globex', 'usr_globex_1');
    const first = await postGraphQL(url, '{ products(first: 1) { id } }', { token });
    expect(header(first, 'ratelimit-remaining')).toBe(String(100_000 - 1));
    const before = subgraphRequests();
    const result = await postGraphQL(url, '{ me { orders(first: 100) { items { product { name } } } } }', { token });
    expect(result.status).toBe(400);
    expect(result.body.errors?.[0]?.extensions).toMatchObject({ code: 'COST_ESTIMATED_TOO_EXPENSIVE', cost: 1 + 100 + 500 + 500, maxCost: 1000 });
    expect(subgraphRequests()).toBe(before);
    const next = await postGraphQL(url, '{ products(first: 1) { id } }', { token });
    expect(header(next, 'ratelimit-remaining'), 'the refused operation debited nothing').toBe(String(100_000 - 2));
  });

  it('prices anonymous reads against a per-address budget', async () => {
    const query = '{ products(first: 10) { id } }';
    for (let i = 0; i < 3; i += 1) expect((await postGraphQL(url, query)).status).toBe(200);
    const refused = await postGraphQL(url, query);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', cost: 10, remaining: 0 });
    const withToken = await postGraphQL(url, query, { token: await devToken('initech', 'usr_initech_1') });
    expect(withToken.status).toBe(200);
  });
});
