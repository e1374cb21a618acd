import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GeofedConfig } from '../gateway/config.js';
import { dropInConfig, readComposedSupergraph } from '../gateway/drop-in.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import type { LimitMode } from '../plugins/cost/settings.js';
import { startDemoGraph, type DemoGraph } from './fixtures/demo-graph.js';
import { metricValue } from './fixtures/metrics.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';

// Cost and rate limits in `enforce` and `measure` mode, end to end on the in-memory store. acme's bucket in its
// home region (eu) holds 150 and never refills; the maximum cost is 100.
// overCost: 1 (me) + 10 (orders, first = 10) + 10 × 5 (items, assumedSize 5) + 50 (product) = 111.
// withinCost: 1 + 5 + 5 × 5 + 25 = 56.
const overCost = /* GraphQL */ '{ me { orders { items { product { name } } } } }';
const withinCost = /* GraphQL */ '{ me { orders(first: 5) { items { product { name } } } } }';
let t: TestStack;
let token: string;

beforeAll(async () => {
  t = await startTestStack('postgres');
  token = await devToken('acme', 'usr_acme_1');
});
afterAll(async () => {
  await t?.stop();
});

const running: RunningGateway[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((gateway) => gateway.stop()));
});

/** A gateway with the limits in these modes and buckets of its own. */
async function gateway(cost: LimitMode, rateLimits: LimitMode): Promise<RunningGateway> {
  const base = t.stack.config;
  const config: GeofedConfig = {
    ...base,
    cost: { ...base.cost, mode: cost, maxOperationCost: 100 },
    rateLimits: {
      ...base.rateLimits,
      mode: rateLimits,
      keyPrefix: `geofed:test:modes:${randomUUID()}`,
      defaultBillingPlan: 'free',
      billingPlans: { free: { capacity: 150, refillPerSecond: 0, regions: {} }, pro: { capacity: 150, refillPerSecond: 0, regions: {} } },
    },
  };
  const started = await startGateway({ config, env: gatewayEnv({}), port: 0 });
  running.push(started);
  return started;
}

interface Answer {
  readonly status: number;
  readonly code: unknown;
  readonly me: boolean;
  readonly extensions: Record<string, unknown> | undefined;
}
async function send(at: RunningGateway, query: string): Promise<Answer> {
  const result = await postGraphQL(`${at.url}/graphql`, query, { token });
  const body = result.body as { data?: { me?: unknown } | null; extensions?: Record<string, unknown> };
  return { status: result.status, code: result.body.errors?.[0]?.extensions?.code, me: Boolean(body.data?.me), extensions: body.extensions };
}
const subgraphRequests = () => t.stack.subgraphs.reduce((sum, s) => sum + s.requestCount(), 0);

describe('cost and rate limits by mode', () => {
  it('measure: an operation over the maximum cost and over its budget is answered with data, the figures in extensions and metrics', async () => {
    const at = await gateway('measure', 'measure');
    const first = await send(at, overCost);
    expect(first).toMatchObject({ status: 200, code: undefined, me: true });
    // A measured cost refuses nothing, so the operation is debited like any other that runs.
    expect(first.extensions?.cost).toMatchObject({ estimated: 111, mode: 'measure', maxCost: 100, exceeded: true });
    expect(first.extensions?.rateLimit).toEqual({ mode: 'measure', cost: 111, exceeded: false, remaining: 39 });
    // 56 > 39: enforce would refuse it; measure serves it and takes nothing from the bucket.
    const second = await send(at, withinCost);
    expect(second).toMatchObject({ status: 200, code: undefined, me: true });
    expect(second.extensions?.cost).toMatchObject({ estimated: 56, mode: 'measure', maxCost: 100, exceeded: false });
    expect(second.extensions?.rateLimit).toEqual({ mode: 'measure', cost: 56, exceeded: true, remaining: 39, retryAfterSeconds: 3_600 });
    expect(await metricValue(at.url, 'geofed_cost_over_max_total{mode="measure"}')).toBe(1);
    expect(await metricValue(at.url, 'geofed_rate_limit_measured_exceeded_total{region="eu"}')).toBe(1);
    expect(await metricValue(at.url, 'geofed_rate_limited_total{region="eu"}')).toBe(0);
  });

  it('enforce: the same operations are refused, before any subgraph is called', async () => {
    const at = await gateway('enforce', 'enforce');
    // The first operation also looks acme up in the tenants directory (a subgraph request): counted from the second.
    expect(await send(at, withinCost)).toMatchObject({ status: 200, me: true, extensions: { cost: { estimated: 56 } } });
    const before = subgraphRequests();
    expect(await send(at, overCost)).toMatchObject({ status: 400, code: 'COST_ESTIMATED_TOO_EXPENSIVE', me: false });
    expect(subgraphRequests()).toBe(before);
    expect(await send(at, withinCost)).toMatchObject({ status: 200, me: true });
    // 150 − 2 × 56 = 38 left.
    const refused = await send(at, withinCost);
    expect(refused).toMatchObject({ status: 429, code: 'RATE_LIMITED', me: false });
    expect(refused.extensions?.rateLimit).toBeUndefined();
    expect(await metricValue(at.url, 'geofed_cost_over_max_total{mode="enforce"}')).toBe(1);
  });

  it('measures the cost and enforces budgets: the operation over the maximum runs and pays', async () => {
    const at = await gateway('measure', 'enforce');
    expect(await send(at, overCost)).toMatchObject({ status: 200, me: true, extensions: { cost: { estimated: 111, exceeded: true } } });
    expect(await send(at, withinCost)).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
  });
});

describe('drop-in mode', () => {
  // Unannotated lists count default_list_size items: 1000 here, so this costs 5 + 5 × 1000 + 5 × 1000 + 5000 × 1000
  // (topProducts' first defaults to 5; the demo has 3 products),
  // far over the default maximum (10000) and the default anonymous budget (2000).
  const expensive = /* GraphQL */ '{ topProducts { name reviews { author { reviews { body } } } } }';
  let graph: DemoGraph;
  const folder = mkdtempSync(join(tmpdir(), 'geofed-modes-'));
  const supergraphFile = join(folder, 'supergraph.graphql');
  const settingsFile = (yaml: string) => {
    const file = join(mkdtempSync(join(folder, 'settings-')), 'settings.yaml');
    writeFileSync(file, yaml);
    return file;
  };
  beforeAll(async () => {
    graph = await startDemoGraph();
    writeFileSync(supergraphFile, graph.supergraphSdl);
  });
  afterAll(async () => {
    await graph?.stop();
  });
  async function dropIn(yaml: string): Promise<RunningGateway> {
    const config = dropInConfig(supergraphFile, settingsFile(yaml));
    const started = await startGateway({ config: { ...config, gateway: { ...config.gateway, port: 0 } }, env: gatewayEnv({}), compose: readComposedSupergraph });
    running.push(started);
    return started;
  }
  const post = async (at: RunningGateway) => {
    const result = await postGraphQL(`${at.url}/graphql`, expensive);
    const body = result.body as { data?: { topProducts?: unknown[] } | null; extensions?: Record<string, unknown> };
    return { status: result.status, code: result.body.errors?.[0]?.extensions?.code, products: body.data?.topProducts?.length ?? 0, extensions: body.extensions };
  };

  it('measures cost and rate limits until the operator sizes them: served, with what enforce would have refused', async () => {
    const unconfigured = dropInConfig(supergraphFile);
    expect([unconfigured.cost.mode, unconfigured.rateLimits.mode]).toEqual(['measure', 'measure']);
    const answer = await post(await dropIn('cost: { default_list_size: 1000 }\n'));
    expect(answer).toMatchObject({ status: 200, code: undefined, products: 3 });
    expect(answer.extensions?.cost).toMatchObject({ mode: 'measure', maxCost: 10_000, exceeded: true });
    expect(answer.extensions?.rateLimit).toMatchObject({ mode: 'measure', exceeded: true, remaining: 2_000 });
  });

  it('enforces each limit the operator sizes', async () => {
    expect(await post(await dropIn('cost: { default_list_size: 1000, max_operation_cost: 10000 }\n'))).toMatchObject({ status: 400, code: 'COST_ESTIMATED_TOO_EXPENSIVE' });
    // Budgets sized, cost not: the cost is only measured and the budget refuses.
    const budgeted = await post(await dropIn('cost: { default_list_size: 1000 }\nrate_limits:\n  anonymous: { capacity: 2000, refill_per_second: 100 }\n'));
    expect(budgeted).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    // A mode the operator writes wins over sizes.
    expect(await post(await dropIn('cost: { default_list_size: 1000, max_operation_cost: 10000, mode: measure }\nrate_limits: { mode: measure, anonymous: { capacity: 2000 } }\n'))).toMatchObject({ status: 200, products: 3 });
  });
});
