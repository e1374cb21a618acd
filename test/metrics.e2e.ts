import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { startReplicaCluster, type ReplicaCluster } from '../dev/replica-cluster.js';
import { metricSum } from './fixtures/flood.js';
import { withUsersV2 } from './fixtures/rollout.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';
import { startUsersV2, type UsersV2 } from './fixtures/users-v2.js';
import { waitFor } from './fixtures/wait.js';

// The metrics a platform team dashboards (docs/observability.md, "Metrics"), each moved by the traffic that
// should move it, on a gateway over real streaming replicas of the catalog (us and eu) and a canary of
// users@v2 in eu; and the Grafana dashboard (docs/grafana/geofed-dashboard.json) names only metrics it exports.
const meQuery = '{ me { orders { items { product { name } } } } }';
const meCost = 1 + 10 + 10 * 5 + 10 * 5;
let cluster: ReplicaCluster;
let t: TestStack;
let v2: UsersV2;
let gateway: RunningGateway;
let url: string;

beforeAll(async () => {
  cluster = await startReplicaCluster(['us', 'eu']);
  await cluster.createDatabase('geofed_catalog');
  t = await startTestStack('postgres', {
    catalog: { primary: cluster.primary.url('geofed_catalog'), replicas: { us: cluster.replicas.us!.url('geofed_catalog'), eu: cluster.replicas.eu!.url('geofed_catalog') } },
    env: { GEOFED_REPLICA_HEALTH_CHECK_INTERVAL_MS: '100' },
    configure: (config) => ({
      ...config,
      cost: { ...config.cost, maxOperationCost: 1000 },
      // acme and umbrella are on pro: buckets that never refill, so that every decision below is exact.
      rateLimits: { ...config.rateLimits, keyPrefix: `geofed:test:rl:${randomUUID()}`, billingPlans: { ...config.rateLimits.billingPlans, pro: { capacity: 250, refillPerSecond: 0, regions: {} } } },
      circuitBreaker: { failureThreshold: 2, openMs: 60_000 },
      gateway: { ...config.gateway, healthCheckIntervalMs: 100 },
    }),
  });
  await cluster.waitForReplay();
  v2 = await startUsersV2('eu', t.stack.databases.get('eu')!);
  gateway = await startGateway({ config: withUsersV2(t.stack.config, 'eu', v2.url, { stable: 'v1', canary: 'v2', percent: 25, pinned: [] }), env: gatewayEnv({}), port: 0 });
  url = `${gateway.url}/graphql`;
});
afterAll(async () => {
  await gateway?.stop();
  await v2?.stop();
  await t?.stop();
  await cluster?.stop();
});

const metric = (name: string, labels: Record<string, string> = {}) => metricSum(gateway.url, name, labels);
/** How much `name{labels}` moved while `traffic` ran. */
async function moved(name: string, labels: Record<string, string>, traffic: () => Promise<unknown>): Promise<number> {
  const before = await metric(name, labels);
  await traffic();
  return (await metric(name, labels)) - before;
}
const preflight = { 'apollo-require-preflight': 'true' };

describe('the gateway\'s /metrics', () => {
  it('names Node\'s process metrics as Node does, and times operations and fetches in buckets for a gateway', async () => {
    await postGraphQL(url, '{ products(first: 1) { id } }');
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) expect(text).toMatch(new RegExp(`^${name} `, 'm'));
    expect(text).not.toMatch(/^geofed_(process|nodejs)_/m);
    const bounds = (family: string) => [...text.matchAll(new RegExp(`^${family}_bucket\\{le="([^"]+)",region="anonymous"`, 'gm'))].map((m) => m[1]);
    expect(bounds('geofed_operation_duration_seconds')).toEqual(['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']);
    expect(text).toMatch(/^geofed_subgraph_fetch_duration_seconds_bucket\{le="0\.001",subgraph="catalog",region="us",outcome="ok"\} /m);
  });

  it('counts rate-limit decisions by region, the fill of the buckets, and names the tenants\' most spent buckets', async () => {
    const token = await devToken('acme', 'usr_acme_1');
    expect(await moved('geofed_rate_limit_decisions_total', { region: 'eu', decision: 'allowed' }, () => postGraphQL(url, meQuery, { token }))).toBe(1);
    expect(await moved('geofed_rate_limit_bucket_fill_ratio_count', { region: 'eu' }, () => postGraphQL(url, meQuery, { token }))).toBe(1);
    const refused = await moved('geofed_rate_limit_decisions_total', { region: 'eu', decision: 'limited' }, async () => expect((await postGraphQL(url, meQuery, { token })).status).toBe(429));
    expect(refused).toBe(1);
    expect(await metric('geofed_rate_limit_bucket_spent_ratio', { region: 'eu', tenant: 'acme' })).toBeCloseTo((2 * meCost) / 250, 5);
    expect(await metric('geofed_rate_limit_bucket_spent_ratio', { tenant: 'anon:127.0.0.1' }), 'an anonymous client is never named').toBe(0);
  });

  it('counts APQ hits and misses, and what a CDN sees of its cache', async () => {
    const query = `query Apq${randomUUID().replaceAll('-', '')} { products(first: 2) { id name } }`;
    const extensions = JSON.stringify({ persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') } });
    const byHash = (headers: Record<string, string> = {}) => fetch(`${url}?${new URLSearchParams({ extensions })}`, { headers: { ...preflight, ...headers } });
    expect(await moved('geofed_apq_requests_total', { outcome: 'miss' }, () => byHash())).toBe(1);
    expect(await moved('geofed_apq_requests_total', { outcome: 'registered' }, () => fetch(`${url}?${new URLSearchParams({ query, extensions })}`, { headers: preflight }))).toBe(1);
    let etag = '';
    const hit = () => byHash().then((response) => (etag = response.headers.get('etag') ?? ''));
    expect(await moved('geofed_apq_requests_total', { outcome: 'hit' }, hit)).toBe(1);
    expect(await moved('geofed_cdn_responses_total', { cache_control: 'public' }, hit)).toBe(1);
    expect(await moved('geofed_cdn_revalidations_total', { result: 'hit' }, async () => expect((await byHash({ 'if-none-match': etag })).status).toBe(304))).toBe(1);
    const token = await devToken('globex', 'usr_globex_1');
    expect(await moved('geofed_cdn_responses_total', { cache_control: 'private' }, () => postGraphQL(url, '{ products(first: 1) { id } }', { token }))).toBe(1);
  });

  it('shows each region\'s canary', async () => {
    expect(await metric('geofed_rollout_state', { region: 'eu', subgraph: 'users', state: 'canary' })).toBe(1);
    expect(await metric('geofed_rollout_state', { region: 'eu', subgraph: 'users', state: 'stable' })).toBe(0);
    expect(await metric('geofed_rollout_canary_percent', { region: 'eu', subgraph: 'users' })).toBe(25);
  });

  it('exports each region\'s catalog replica lag, which a write grows while the replica does not replay', async () => {
    await waitFor(() => metricSeriesOf('geofed_catalog_replica_lag_bytes'), { until: (series) => series.includes('region="us"') && series.includes('region="eu"'), what: 'a lag for each replica' });
    await cluster.pauseReplay('eu');
    try {
      const admin = await devToken('globex', 'usr_globex_1', { roles: ['platform-operator'] });
      const write = await postGraphQL(url, `mutation { upsertProduct(id: "prd_03", name: "Lag Lamp ${randomUUID().slice(0, 8)}", priceCents: 1200) { id } }`, { token: admin });
      expect(write.status).toBe(200);
      await waitFor(() => metric('geofed_catalog_replica_lag_bytes', { region: 'eu' }), { until: (bytes) => bytes > 0, timeoutMs: 10_000, what: 'the eu replica to lag' });
      const catalogEu = new URL(t.stack.subgraph('catalog', 'eu').url).origin;
      expect(await metricSum(catalogEu, 'geofed_catalog_replica_lag_bytes')).toBeGreaterThan(0);
    } finally {
      await cluster.resumeReplay('eu');
    }
    await waitFor(() => metric('geofed_catalog_replica_lag_bytes', { region: 'eu' }), { until: (bytes) => bytes === 0, timeoutMs: 10_000, what: 'the eu replica to catch up' });
  });

  it('counts residency refusals, and shows a breaker open while its region is down', async () => {
    expect(await moved('geofed_residency_refusals_total', { region: 'anonymous', reason: 'anonymous' }, () => postGraphQL(url, '{ me { name } }'))).toBe(1);
    expect(await metric('geofed_circuit_breaker_state', { subgraph: 'users', region: 'latam', state: 'closed' })).toBe(1);
    await t.stack.stopRegion('latam');
    const token = await devToken('umbrella', 'usr_umbrella_1');
    const downs = await moved('geofed_residency_refusals_total', { region: 'latam', reason: 'home_unavailable' }, async () => {
      for (let i = 0; i < 3; i += 1) expect((await postGraphQL(url, '{ me { name } }', { token })).status).toBe(503);
    });
    expect(downs).toBe(3);
    expect(await metric('geofed_circuit_breaker_state', { subgraph: 'users', region: 'latam', state: 'open' })).toBe(1);
    expect(await metric('geofed_circuit_breaker_state', { subgraph: 'users', region: 'latam', state: 'closed' })).toBe(0);
  });
});

/** The label sets of a metric family's series, as written. */
async function metricSeriesOf(name: string): Promise<string> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  return text.split('\n').filter((line) => line.startsWith(`${name}{`)).join('\n');
}

interface DashboardPanel {
  readonly title: string;
  readonly type: string;
  readonly datasource?: { readonly uid: string };
  readonly targets?: readonly { readonly expr: string }[];
}

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(new URL('../docs/grafana/geofed-dashboard.json', import.meta.url), 'utf8')) as { templating: { list: { name: string; type: string }[] }; panels: DashboardPanel[] };
  const queried = dashboard.panels.filter((panel) => panel.type !== 'row');

  it('reads a Prometheus data source chosen in a variable', () => {
    expect(dashboard.templating.list.find((variable) => variable.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(queried.filter((panel) => panel.datasource?.uid !== '${datasource}').map((panel) => panel.title)).toEqual([]);
  });

  it('names in its queries only metrics the gateway exports', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const families = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    const exported = (name: string) => {
      if (families.has(name)) return true;
      const histogram = /^(.+)_(bucket|sum|count)$/.exec(name)?.[1];
      return histogram !== undefined && families.get(histogram) === 'histogram';
    };
    const named = queried.flatMap((panel) => (panel.targets ?? []).flatMap((target) => [...target.expr.matchAll(/\b(?:geofed|process|nodejs)_[a-z0-9_]+/g)].map((m) => ({ panel: panel.title, name: m[0] }))));
    expect(named.length).toBeGreaterThan(20);
    expect(named.filter(({ name }) => !exported(name))).toEqual([]);
  });
});
