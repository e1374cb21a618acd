import { randomUUID } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicaCluster, type ReplicaCluster } from '../dev/replica-cluster.js';
import { delayTopology, type Topology } from '../dev/topology.js';
import { startUpstashRestProxy, type UpstashRestProxy } from '../dev/upstash-rest-proxy.js';
import { devHopSecret, gatewayEnv } from '../gateway/env.js';
import { startGateway } from '../gateway/gateway.js';
import { signHop } from '../gateway/hop-signature.js';
import { copyLogLines, logger } from '../runtime/logger.js';
import { firstUserOf, seedTenants, seedUsers } from '../subgraphs/index.js';
import { metricValue } from './fixtures/metrics.js';
import { devToken, postGraphQL, type GraphQLResult, type TestStack, startTestStack } from './fixtures/stack.js';

// A gateway per region, every connection between regions through a delay link of 20 ms (2 ms within a
// region), each region's catalog on its own streaming replica: an operation of a tenant homed elsewhere is
// forwarded whole to its home gateway and crosses exactly one link between regions.
const regions = ['us', 'eu', 'apac', 'latam'];
const table = { withinRegionMs: 2, betweenRegionsMs: regions.flatMap((a, i) => regions.slice(i + 1).map((b) => [a, b, 20] as const)) };
const meQuery = /* GraphQL */ `query Me { me { name email orders(first: 2) { totalCents items { product { name } } } } }`;

let cluster: ReplicaCluster;
let links: Topology;
let proxy: UpstashRestProxy;
let t: TestStack;
/** Operations each region's gateway ran itself (Apollo saw them): a forwarded one never reaches the receiving gateway's Apollo. */
const executed = new Map(regions.map((region) => [region, [] as string[]]));
const probe = (region: string): ApolloServerPlugin => ({
  async requestDidStart({ request }) {
    executed.get(region)!.push(request.operationName ?? request.query ?? '(persisted)');
  },
});

beforeAll(async () => {
  cluster = await startReplicaCluster(regions);
  await cluster.createDatabase('geofed_catalog');
  links = delayTopology(table);
  proxy = await startUpstashRestProxy();
  t = await startTestStack('postgres', {
    gateways: 'per-region',
    topology: { links, primaryRegion: 'us' },
    catalog: { primary: cluster.primary.url('geofed_catalog'), replicas: Object.fromEntries(regions.map((r) => [r, cluster.replicas[r]!.url('geofed_catalog')])) },
    gatewayPlugins: (region) => [probe(region)],
    // Background replica checks would cross the ocean on their own and blur the counts.
    env: { GEOFED_REPLICA_HEALTH_CHECK_INTERVAL_MS: '600000', UPSTASH_REDIS_REST_URL: proxy.url, UPSTASH_REDIS_REST_TOKEN: proxy.token },
    // Buckets that never refill, so that every debit shows in RateLimit-Remaining.
    configure: (config) => ({
      ...config,
      rateLimits: { ...config.rateLimits, keyPrefix: `geofed:rl:${randomUUID()}`, billingPlans: Object.fromEntries(Object.keys(config.rateLimits.billingPlans).map((billingPlan) => [billingPlan, { capacity: 100_000, refillPerSecond: 0, regions: {} }])) },
    }),
  });
  await cluster.waitForReplay();
}, 240_000);
afterAll(async () => {
  await t?.stop();
  await links?.stop();
  await proxy?.stop();
  await cluster?.stop();
});

/** Posts from a client in `clientRegion` to that region's gateway; the cross-region round trips the links counted on the way. */
async function fromRegion(clientRegion: string, query: string, options: Parameters<typeof postGraphQL>[2] = {}): Promise<{ result: GraphQLResult; crossings: number }> {
  const url = `${await t.stack.clientUrl(clientRegion, clientRegion)}/graphql`;
  const before = links.crossRegionRoundTrips();
  const result = await postGraphQL(url, query, options);
  return { result, crossings: links.crossRegionRoundTrips() - before };
}

describe('home-region execution (forward)', () => {
  it.each(seedTenants.flatMap((tenant) => regions.map((gateway) => [tenant.id, tenant.region, gateway] as const)))(
    '%s (home %s) through the %s gateway: the home gateway answers, one crossing at most',
    async (tenantId, home, gateway) => {
      const token = await devToken(tenantId, firstUserOf(tenantId)!.id);
      const atHome = await fromRegion(home, meQuery, { token });
      expect(atHome.result.body.errors).toBeUndefined();
      const before = executed.get(gateway)!.length;
      const { result, crossings } = await fromRegion(gateway, meQuery, { token });
      expect({ status: result.status, data: result.body.data, crossings }).toEqual({ status: 200, data: atHome.result.body.data, crossings: gateway === home ? 0 : 1 });
      expect([result.headers.get('x-geofed-gateway-region'), result.headers.get('x-geofed-home-region'), result.headers.get('x-geofed-data-region')]).toEqual([home, home, home]);
      if (gateway !== home) expect(executed.get(gateway)!.slice(before)).toEqual([]);
    },
  );

  it('never parses or logs a forwarded tenant\'s data outside its home region', async () => {
    const lines: string[] = [];
    const level = logger.level;
    logger.level = 'trace';
    const stop = copyLogLines((line) => lines.push(line));
    try {
      const { result } = await fromRegion('us', meQuery, { token: await devToken('acme', 'usr_acme_1') });
      expect(result.body.data).toMatchObject({ me: { name: 'Ada Lovelace' } });
    } finally {
      stop();
      logger.level = level;
    }
    const byRegion = (region: string) => lines.filter((line) => (JSON.parse(line) as { gateway_region?: string }).gateway_region === region);
    const pii = seedUsers.filter((u) => u.tenantId === 'acme').flatMap((u) => [u.name, u.email]);
    expect(byRegion('us').filter((line) => pii.some((value) => line.includes(value)))).toEqual([]);
    expect(byRegion('us').map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['operation forwarded to its home region']);
    expect(byRegion('eu').map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['operation run here']);
  });

  it('debits the budget once, at home, on the buckets a direct call would', async () => {
    const token = await devToken('umbrella', 'usr_umbrella_1');
    const remaining = (result: GraphQLResult) => Number(result.headers.get('ratelimit-remaining'));
    const direct = await fromRegion('latam', '{ me { name } }', { token });
    const forwarded = await fromRegion('eu', '{ me { name } }', { token });
    const again = await fromRegion('latam', '{ me { name } }', { token });
    const cost = 1;
    expect([remaining(direct.result) - remaining(forwarded.result), remaining(forwarded.result) - remaining(again.result)]).toEqual([cost, cost]);
  });

  it('serves a persisted query by hash through a forward', async () => {
    const token = await devToken('initech', 'usr_initech_2');
    // A text of its own: the APQ store is the shared Redis, which outlives a run.
    const query = `query Mine${randomUUID().replaceAll('-', '')} { me { email } }`;
    const sha256Hash = (await import('node:crypto')).createHash('sha256').update(query).digest('hex');
    const persisted = { extensions: { persistedQuery: { version: 1, sha256Hash } } };
    const url = `${await t.stack.clientUrl('us', 'us')}/graphql`;
    const post = (body: object) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: await r.json() }));
    expect(await post(persisted)).toMatchObject({ body: { errors: [{ extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] } });
    expect(await post({ query, ...persisted })).toEqual({ status: 200, body: { data: { me: { email: 'samir.nagheenanajar@initech.example' } }, extensions: expect.any(Object) } });
    expect(await post(persisted)).toEqual({ status: 200, body: { data: { me: { email: 'samir.nagheenanajar@initech.example' } }, extensions: expect.any(Object) } });
  });

  it('reads a write from another region with the consistency token', async () => {
    const admin = await devToken('globex', 'usr_globex_1', { roles: ['platform-operator'] });
    const id = `prd_geo_${randomUUID().slice(0, 8)}`;
    const write = await fromRegion('us', `mutation { upsertProduct(id: "${id}", name: "Geo Lamp", priceCents: 4200) { id } }`, { token: admin });
    const token = write.result.headers.get('geofed-consistency');
    expect(token).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    const read = await fromRegion('apac', `{ product(id: "${id}") { name priceCents } }`, { headers: { 'geofed-consistency': token! } });
    expect(read.result.body).toMatchObject({ data: { product: { name: 'Geo Lamp', priceCents: 4200 } } });
  });
});

describe('routing.remote_execution: fetch', () => {
  it('runs the operation here, fetching the home region\'s subgraphs across regions, and counts it', async () => {
    const config = { ...t.stack.config, routing: { ...t.stack.config.routing, remoteExecution: 'fetch' as const } };
    const gateway = await startGateway({ config, env: gatewayEnv({ UPSTASH_REDIS_REST_URL: proxy.url, UPSTASH_REDIS_REST_TOKEN: proxy.token }), port: 0 });
    try {
      const token = await devToken('acme', 'usr_acme_1');
      const before = links.crossRegionRoundTrips();
      const result = await postGraphQL(`${gateway.url}/graphql`, meQuery, { token });
      const crossings = links.crossRegionRoundTrips() - before;
      expect({ status: result.status, gateway: result.headers.get('x-geofed-gateway-region'), data: result.headers.get('x-geofed-data-region') }).toEqual({ status: 200, gateway: 'us', data: 'eu' });
      expect(result.body.data).toMatchObject({ me: { name: 'Ada Lovelace' } });
      // users, then orders: one crossing per step of the plan, where forwarding takes one for all.
      expect(crossings).toBeGreaterThanOrEqual(2);
      expect(await metricValue(gateway.url, 'geofed_remote_fetch_operations_total{home_region="eu"}')).toBe(1);
    } finally {
      await gateway.stop();
    }
  });
});

describe('the hop between gateways', () => {
  const hop = async (to: string, body: string, tenantId: string, secret = devHopSecret) => {
    const token = await devToken(tenantId, firstUserOf(tenantId)!.id);
    // Every header the hop signs, as fetch would send it.
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' };
    const signed = signHop(secret, { method: 'POST', target: '/graphql', headers, body: Buffer.from(body) }, 'us');
    const send = () => fetch(`${t.stack.gateways.get(to)!.url}/graphql`, { method: 'POST', headers: signed, body }).then(async (r) => ({ status: r.status, code: ((await r.json()) as { errors?: { extensions: { code: string } }[] }).errors?.[0]?.extensions.code }));
    return send;
  };
  const body = JSON.stringify({ query: '{ me { name } }' });

  it('accepts a signed hop once, and refuses its replay', async () => {
    const send = await hop('eu', body, 'acme');
    expect(await send()).toEqual({ status: 200, code: undefined });
    expect(await send()).toEqual({ status: 401, code: 'GATEWAY_SIGNATURE_REFUSED' });
  });

  it('refuses a forged hop', async () => {
    const send = await hop('eu', body, 'acme', 'not-the-hop-secret');
    expect(await send()).toEqual({ status: 401, code: 'GATEWAY_SIGNATURE_REFUSED' });
  });

  it('refuses a forwarded request for a tenant not homed there, never forwarding it again', async () => {
    const before = links.crossRegionRoundTrips();
    const send = await hop('eu', body, 'globex');
    expect(await send()).toEqual({ status: 403, code: 'RESIDENCY_VIOLATION' });
    expect(links.crossRegionRoundTrips() - before).toBe(0);
  });
});

describe('global failover', () => {
  it('reads the catalog and the directory from the next region while the local catalog is down; regional data never fails over', async () => {
    await t.stack.stopSubgraphInstance('catalog', 'eu');
    try {
      const anonymous = await fromRegion('eu', '{ products(first: 2) { id } }');
      expect({ status: anonymous.result.status, data: anonymous.result.body.data, served: anonymous.result.headers.get('x-geofed-global-region') }).toEqual({
        status: 200,
        data: { products: [{ id: 'prd_01' }, { id: 'prd_02' }] },
        served: 'us',
      });
      const signedIn = await fromRegion('eu', '{ me { name } }', { token: await devToken('acme', 'usr_acme_3') });
      expect(signedIn.result.body).toMatchObject({ data: { me: { name: 'Clara Schmidt' } } });
      await t.stack.stopSubgraphInstance('users', 'eu');
      try {
        const usersUs = t.stack.subgraph('users', 'us').requestCount();
        const down = await fromRegion('eu', '{ me { name } }', { token: await devToken('acme', 'usr_acme_2') });
        // Every root field null: the response holds no data, so its status is the error's (docs/errors.md).
        expect({ status: down.result.status, data: down.result.body.data, code: down.result.body.errors?.[0]?.extensions?.code }).toEqual({ status: 503, data: { me: null }, code: 'REGION_UNAVAILABLE' });
        expect(t.stack.subgraph('users', 'us').requestCount()).toBe(usersUs);
      } finally {
        await t.stack.startSubgraphInstance('users', 'eu');
      }
    } finally {
      await t.stack.startSubgraphInstance('catalog', 'eu');
    }
  });
});
