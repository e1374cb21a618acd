import { setMaxListeners } from 'node:events';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GeofedConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import type { SubgraphLimitSettings } from '../gateway/fetch-gate.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { closeClients, flood, metricSum, send, steadyLoad, throttle, type Outcome } from './fixtures/flood.js';
import { devToken, rowsAsOwner, startTestStack, type TestStack } from './fixtures/stack.js';
import { waitFor } from './fixtures/wait.js';

// The attack run, on real servers: one address floods the catalog with anonymous reads, one tenant bursts heavy
// queries at its region's users and orders, within their budgets, while other callers query steadily. A subgraph
// of bounded capacity (4 requests at a time, 20 ms each: test/fixtures/flood.ts) is the bottleneck, and the
// gateway lets 8 fetches in flight to it, 2 of them (max_share 0.25) for any one caller. Whatever the flood,
// the others are answered, the flooder alone is shed (503, Retry-After), and no breaker opens.
let t: TestStack;
const capacity = { concurrency: 4, serviceMs: 20 };
const limits: SubgraphLimitSettings = { maxInFlight: 8, maxQueue: 32, queueTimeoutMs: 100, maxShare: 0.25, dedup: false };
const unlimited = { capacity: 1e12, refillPerSecond: 1e9, regions: {} };

beforeAll(async () => {
  t = await startTestStack('postgres', {
    configure: (config) => ({
      ...config,
      rateLimits: { ...config.rateLimits, billingPlans: Object.fromEntries(Object.keys(config.rateLimits.billingPlans).map((billingPlan) => [billingPlan, unlimited])), anonymous: { ...unlimited, clientKey: 'address' } },
    }),
  });
  // A second tenant homed in eu, beside acme.
  await rowsAsOwner(t.stack, 'catalog', sql`insert into tenants (id, name, region, plan, status) values ('initrode', 'Initrode AG', 'eu', 'free', 'active')`);
  await rowsAsOwner(t.stack, 'eu', sql`insert into users (id, tenant_id, email, name) values ('usr_initrode_1', 'initrode', 'bill.lumbergh@initrode.example', 'Bill Lumbergh')`);
});
afterAll(async () => {
  await closeClients();
  await t?.stop();
});

let running: { gateway: RunningGateway; stop(): Promise<void> } | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** A gateway of the stack's config with these limits, some instances behind throttled proxies. */
async function gatewayWith(throttled: { subgraph: string; region: string }[], subgraphLimits: SubgraphLimitSettings, tweak: (config: GeofedConfig) => GeofedConfig = (c) => c) {
  const proxied = await throttle(t.stack.config, throttled, capacity);
  const gateway = await startGateway({ config: tweak({ ...proxied.config, subgraphLimits }), env: gatewayEnv({}), port: 0 });
  running = {
    gateway,
    stop: async () => {
      await gateway.stop();
      await proxied.stop();
    },
  };
  return { gateway, url: `${gateway.url}/graphql`, proxies: proxied.proxies };
}

const catalogRead = '{ products(first: 1) { id } }';
const heavy = '{ me { orders(first: 50) { items { quantity product { name priceCents } } } } }';
const isShed = (o: Outcome) => o.status === 503 && o.codes.length === 1 && o.codes[0] === 'SUBGRAPH_OVERLOADED' && o.retryAfter === '1';
const clean = (o: Outcome) => o.status === 200 && o.codes.length === 0;
/** Bursts again and again until every steady caller has been answered 3 times meanwhile: the others really queried during the flood. */
async function floodUntil(steady: { answered(): number }, burst: () => Promise<Outcome[]>): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  do outcomes.push(...(await burst()));
  while (steady.answered() < 3);
  return outcomes;
}
const describeOutcomes = (outcomes: readonly Outcome[]) => {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(`${o.status} ${o.codes.join(',')}`, (counts.get(`${o.status} ${o.codes.join(',')}`) ?? 0) + 1);
  return Object.fromEntries(counts);
};

describe('a flood from one caller', () => {
  it('sheds an address\'s bursts of 500 anonymous catalog reads, alone, while signed-in tenants are served from the same catalog', async () => {
    const { gateway, url } = await gatewayWith([{ subgraph: 'catalog', region: 'us' }], limits);
    const callers = [
      { name: 'globex', token: await devToken('globex', 'usr_globex_1'), query: '{ products(first: 3) { name priceCents } }' },
      { name: 'acme', token: await devToken('acme', 'usr_acme_1'), query: '{ me { name orders(first: 1) { items { product { name } } } } }' },
      { name: 'initech', token: await devToken('initech', 'usr_initech_1'), query: '{ me { name orders(first: 1) { items { product { name } } } } }' },
    ];
    // Warm: each tenant's directory entry is cached before the flood.
    for (const caller of callers) expect(clean(await send(url, caller.query, { token: caller.token }))).toBe(true);

    const steady = steadyLoad(url, callers);
    const flooded = await floodUntil(steady, () => flood(url, catalogRead, 500));
    const others = await steady.stop();

    expect(describeOutcomes(flooded.filter((o) => !clean(o) && !isShed(o))), 'the flooder gets answers or sheds, nothing else').toEqual({});
    const shed = flooded.filter(isShed).length;
    expect(shed, 'the flood was over its share').toBeGreaterThan(0);
    expect(flooded.filter(clean).length, 'the flooder keeps its share').toBeGreaterThan(0);
    expect(await metricSum(gateway.url, 'geofed_subgraph_fetches_shed_total', { subgraph: 'catalog', region: 'us' })).toBe(shed);
    for (const { name } of callers) {
      const outcomes = others.get(name)!;
      expect(describeOutcomes(outcomes), `${name} sees no error and no shed request`).toEqual({ '200 ': outcomes.length });
      expect(new Set(outcomes.map((o) => o.globalRegion)), `${name} was served by the us catalog (no failover)`).toEqual(new Set(['us']));
    }
    // The breaker stayed closed: the catalog never failed a fetch, and the next read is served in us.
    expect(await metricSum(gateway.url, 'geofed_subgraph_fetch_duration_seconds_count', { subgraph: 'catalog', region: 'us', outcome: 'error' })).toBe(0);
    const after = await send(url, catalogRead);
    expect([after.status, after.globalRegion]).toEqual([200, 'us']);
    console.log(
      `catalog flood: ${flooded.filter(clean).length} of ${flooded.length} answered, ${shed} shed ` +
        `(queue full ${await metricSum(gateway.url, 'geofed_subgraph_fetches_shed_total', { reason: 'queue_full' })}, queue deadline ${await metricSum(gateway.url, 'geofed_subgraph_fetches_shed_total', { reason: 'queue_timeout' })}); ` +
        callers.map(({ name }) => `${name} ${others.get(name)!.length} answered`).join(', '),
    );
  });

  it('sheds a tenant\'s bursts of 150 heavy queries at its region\'s users and orders, while another tenant of that region is served', async () => {
    const { gateway, url } = await gatewayWith(
      [
        { subgraph: 'users', region: 'eu' },
        { subgraph: 'orders', region: 'eu' },
      ],
      limits,
    );
    const acme = await devToken('acme', 'usr_acme_1');
    const neighbour = { name: 'initrode', token: await devToken('initrode', 'usr_initrode_1'), query: '{ me { name orders(first: 2) { totalCents } } }' };
    expect(clean(await send(url, heavy, { token: acme }))).toBe(true);
    const first = await send(url, neighbour.query, { token: neighbour.token });
    expect([first.status, first.data]).toEqual([200, { me: { name: 'Bill Lumbergh', orders: [] } }]);

    const steady = steadyLoad(url, [neighbour]);
    const burst = await floodUntil(steady, () => flood(url, heavy, 150, { token: acme }));
    const served = (await steady.stop()).get('initrode')!;

    expect(describeOutcomes(burst.filter((o) => !clean(o) && !isShed(o))), 'the burst gets answers or sheds, nothing else').toEqual({});
    const shed = burst.filter(isShed).length;
    expect(shed).toBeGreaterThan(0);
    expect(burst.filter(clean).length).toBeGreaterThan(0);
    // One shed fetch per shed operation (a plan stops at its first failed step), on whichever subgraph it was.
    expect(await metricSum(gateway.url, 'geofed_subgraph_fetches_shed_total')).toBe(shed);
    expect(describeOutcomes(served), 'the other eu tenant sees no error and no shed request').toEqual({ '200 ': served.length });
    for (const subgraph of ['users', 'orders']) {
      expect(await metricSum(gateway.url, 'geofed_subgraph_fetch_duration_seconds_count', { subgraph, region: 'eu', outcome: 'error' }), `${subgraph}@eu never failed a fetch`).toBe(0);
    }
    expect(clean(await send(url, heavy, { token: acme })), 'acme is served once its burst is over').toBe(true);
    console.log(`tenant burst: ${burst.filter(clean).length} of ${burst.length} answered, ${shed} shed; initrode ${served.length} answered`);
  });

  it('shares one fetch among an address\'s identical reads (dedup on): all answered, one fetch sent per round', async () => {
    const { gateway, url, proxies } = await gatewayWith([{ subgraph: 'catalog', region: 'us' }], { ...limits, dedup: true });
    const proxy = proxies.get('catalog@us')!;
    proxy.reset();
    const flooded = await flood(url, catalogRead, 500);
    expect(describeOutcomes(flooded)).toEqual({ '200 ': 500 });
    // An identical query in flight answers a read before it is planned; failing that, an identical fetch in flight.
    const joinedQueries = await metricSum(gateway.url, 'geofed_operations_deduplicated_total');
    const joinedFetches = await metricSum(gateway.url, 'geofed_subgraph_fetches_deduplicated_total', { subgraph: 'catalog', region: 'us' });
    expect(joinedQueries + joinedFetches).toBeGreaterThan(0);
    expect(proxy.received(), 'every read was answered by a fetch sent, by one it joined or by a query it joined').toBe(500 - joinedQueries - joinedFetches);
    expect(await metricSum(gateway.url, 'geofed_subgraph_fetches_shed_total')).toBe(0);
  });

  it('drops the queued fetches of a client that went away, unsent and never counted against the breaker', async () => {
    // A long queue deadline: what leaves the queue here leaves because its client went away.
    const { gateway, url, proxies } = await gatewayWith([{ subgraph: 'catalog', region: 'us' }], { ...limits, queueTimeoutMs: 20_000 });
    const client = new AbortController();
    setMaxListeners(0, client.signal);
    const flooding = flood(url, (i) => `{ products(first: ${1 + (i % 20)}) { id } }`, 200, { signal: client.signal }).catch((error: unknown) => error);
    const queued = () => metricSum(gateway.url, 'geofed_subgraph_fetches_queued', { subgraph: 'catalog', region: 'us' });
    await waitFor(queued, { until: (n) => n > 0, what: 'fetches queued for the catalog' });
    client.abort();
    await flooding;
    await waitFor(async () => [await queued(), await metricSum(gateway.url, 'geofed_subgraph_fetches_in_flight', { subgraph: 'catalog', region: 'us' })], {
      until: ([q, f]) => q === 0 && f === 0,
      what: 'the queue and the slots to empty',
    });
    expect(await metricSum(gateway.url, 'geofed_subgraph_fetches_abandoned_total', { subgraph: 'catalog', region: 'us' })).toBeGreaterThan(0);
    expect(await metricSum(gateway.url, 'geofed_subgraph_fetches_shed_total', { reason: 'queue_timeout' })).toBe(0);
    expect(await metricSum(gateway.url, 'geofed_subgraph_fetch_duration_seconds_count', { subgraph: 'catalog', region: 'us', outcome: 'error' })).toBe(0);
    expect(proxies.get('catalog@us')!.received(), 'the abandoned fetches were never sent').toBeLessThan(200);
    const after = await send(url, catalogRead);
    expect([after.status, after.globalRegion]).toEqual([200, 'us']);
  });

  it('runs the subgraph deadline from the moment a fetch is sent, never from when it queued', async () => {
    // One fetch at a time, 20 ms each behind the proxy, a 250 ms deadline: the last of 20 waits far longer than that
    // in the gateway's queue, and is answered all the same.
    const { gateway, url } = await gatewayWith([{ subgraph: 'catalog', region: 'us' }], { maxInFlight: 1, maxQueue: 64, queueTimeoutMs: 20_000, maxShare: 1, dedup: false }, (config) => ({
      ...config,
      gateway: { ...config.gateway, subgraphTimeoutMs: 250 },
    }));
    const reads = await flood(url, (i) => `{ products(first: ${1 + i}) { id } }`, 20);
    expect(describeOutcomes(reads)).toEqual({ '200 ': 20 });
    const withinDeadline = await metricSum(gateway.url, 'geofed_subgraph_fetch_queue_wait_seconds_bucket', { subgraph: 'catalog', region: 'us', le: '0.25' });
    expect(withinDeadline, 'some fetches waited in the queue longer than the deadline').toBeLessThan(20);
  });
});
