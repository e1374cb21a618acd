import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { sessionReport } from '../dev/session-report.js';
import { startReplicaCluster, type ReplicaCluster } from '../dev/replica-cluster.js';
import { devToken, postGraphQL, rowsAsOwner, startTestStack, type GraphQLResult, type TestStack } from './fixtures/stack.js';
import { waitFor } from './fixtures/wait.js';

// The global catalog on real streaming replicas: each region reads its replica, writes go to the primary,
// and a consistency token gives read-your-writes from any region's gateway.
let cluster: ReplicaCluster;
let t: TestStack;
let euGateway: RunningGateway;
const ttlMs = 300;

beforeAll(async () => {
  cluster = await startReplicaCluster(['us', 'eu']);
  await cluster.createDatabase('geofed_catalog');
  t = await startTestStack('postgres', {
    catalog: { primary: cluster.primary.url('geofed_catalog'), replicas: { us: cluster.replicas.us!.url('geofed_catalog'), eu: cluster.replicas.eu!.url('geofed_catalog') } },
    testHooks: { reportSession: true },
    env: { GEOFED_REPLICA_HEALTH_CHECK_INTERVAL_MS: '200' },
    configure: (config) => ({ ...config, gateway: { ...config.gateway, tenantCacheTtlMs: ttlMs } }),
  });
  await cluster.waitForReplay();
  const report = sessionReport();
  euGateway = await startGateway({ config: { ...t.stack.config, gateway: { ...t.stack.config.gateway, region: 'eu' } }, env: gatewayEnv({}), port: 0, plugins: [report.plugin], observeSubgraphResponse: report.observer });
});
afterAll(async () => {
  await euGateway?.stop();
  await t?.stop();
  await cluster?.stop();
});

type Session = { subgraph: string; region: string; serverPort: number; inRecovery: boolean };
const catalogSession = (result: GraphQLResult) =>
  ((result.body as { extensions?: { geofedSessions?: Session[] } }).extensions?.geofedSessions ?? []).find((s) => s.subgraph === 'catalog');
const us = () => t.graphqlUrl;
const eu = () => `${euGateway.url}/graphql`;
const productName = (result: GraphQLResult) => (result.body.data?.product as { name: string } | undefined)?.name;

describe('catalog on streaming replicas', () => {
  it('reads each region\'s catalog from that region\'s replica', async () => {
    for (const [url, region] of [[us(), 'us'], [eu(), 'eu']] as const) {
      const result = await postGraphQL(url, '{ products(first: 1) { id } }');
      expect(result.body.data).toEqual({ products: [{ id: 'prd_01' }] });
      expect(catalogSession(result)).toMatchObject({ subgraph: 'catalog', region, serverPort: cluster.replicas[region]!.port, inRecovery: true });
    }
  });

  it('gives read-your-writes across regions with the consistency token', async () => {
    const admin = await devToken('globex', 'usr_globex_1', { roles: ['platform-operator'] });
    const before = productName(await postGraphQL(eu(), '{ product(id: "prd_02") { name } }'));
    await cluster.pauseReplay('eu');
    try {
      const name = `Rocket Skates ${randomUUID().slice(0, 8)}`;
      const write = await postGraphQL(us(), `mutation { upsertProduct(id: "prd_02", name: "${name}", priceCents: 1836) { name } }`, { token: admin });
      expect(write.body.data).toEqual({ upsertProduct: { name } });
      const token = write.headers.get('geofed-consistency')!;
      expect(token).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect((write.body as { extensions?: { consistency?: string } }).extensions?.consistency).toBe(token);

      const withToken = await postGraphQL(eu(), '{ product(id: "prd_02") { name } }', { headers: { 'geofed-consistency': token } });
      expect(productName(withToken)).toBe(name);
      expect(catalogSession(withToken)).toMatchObject({ region: 'eu', serverPort: cluster.primary.port, inRecovery: false });

      const withoutToken = await postGraphQL(eu(), '{ product(id: "prd_02") { name } }');
      expect(productName(withoutToken)).toBe(before);
      expect(catalogSession(withoutToken)).toMatchObject({ serverPort: cluster.replicas.eu!.port, inRecovery: true });

      await cluster.waitForReplay();
      const usWithToken = await postGraphQL(us(), '{ product(id: "prd_02") { name } }', { headers: { 'geofed-consistency': token } });
      expect(productName(usWithToken)).toBe(name);
      expect(catalogSession(usWithToken)).toMatchObject({ serverPort: cluster.replicas.us!.port, inRecovery: true });

      await cluster.resumeReplay('eu');
      await cluster.waitForReplay();
      const resumed = await postGraphQL(eu(), '{ product(id: "prd_02") { name } }');
      expect(productName(resumed)).toBe(name);
      expect(catalogSession(resumed)).toMatchObject({ serverPort: cluster.replicas.eu!.port });
    } finally {
      await cluster.resumeReplay('eu').catch(() => {});
    }
  });

  it('refuses a malformed consistency token with 400 BAD_REQUEST', async () => {
    const result = await postGraphQL(eu(), '{ products(first: 1) { id } }', { headers: { 'geofed-consistency': 'drop table products' } });
    expect(result.status).toBe(400);
    expect(result.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });

  it('applies a new or suspended tenant within the directory cache TTL', async () => {
    // A tenant of its own: the directory entry this test creates and suspends is no other test's.
    const tenant = `initrode_${randomUUID().slice(0, 8)}`;
    const token = await devToken(tenant, `usr_${tenant}_1`);
    const read = () => postGraphQL(us(), '{ products(first: 1) { id } }', { token });
    const unknown = await read();
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await rowsAsOwner(t.stack, 'catalog', sql`insert into tenants (id, name, region, plan) values (${tenant}, 'Initrode', 'us', 'free')`);
    // The deadline is many TTLs: a directory that cached past its TTL would never let the change through.
    const admitted = await waitFor(read, { until: (r) => r.status !== 403, timeoutMs: ttlMs * 20, what: 'the new tenant to be admitted' });
    expect(admitted.status).toBe(200);
    await rowsAsOwner(t.stack, 'catalog', sql`update tenants set status = 'suspended' where id = ${tenant}`);
    const suspended = await waitFor(read, { until: (r) => r.status !== 200, timeoutMs: ttlMs * 20, what: 'the suspension to apply' });
    expect(suspended.status).toBe(403);
    expect(suspended.body.errors?.[0]?.message).toMatch(/suspended/);
  });

  it('reads from the primary while a replica is down, and from the replica once it is back', async () => {
    await cluster.stopServer('eu');
    try {
      for (let i = 0; i < 3; i += 1) {
        const result = await postGraphQL(eu(), '{ products(first: 2) { id } }');
        expect(result.status).toBe(200);
        expect(result.body.data).toEqual({ products: [{ id: 'prd_01' }, { id: 'prd_02' }] });
        expect(catalogSession(result)).toMatchObject({ serverPort: cluster.primary.port, inRecovery: false });
      }
      const metrics = await (await fetch(t.stack.subgraph('catalog', 'eu').url.replace('/graphql', '/metrics'))).text();
      expect(metrics).toMatch(/geofed_catalog_replica_healthy 0/);
      expect(metrics).toMatch(/geofed_catalog_reads_total\{target="primary",reason="replica (failed|unhealthy)"\} [1-9]/);
    } finally {
      await cluster.startServer('eu');
    }
    await cluster.waitForReplay();
    // The catalog notices the replica on its next health check; until then it keeps reading the primary.
    const back = await waitFor(() => postGraphQL(eu(), '{ products(first: 1) { id } }'), { until: (r) => catalogSession(r)?.serverPort === cluster.replicas.eu!.port, what: 'reads to return to the eu replica' });
    expect(catalogSession(back)).toMatchObject({ serverPort: cluster.replicas.eu!.port, inRecovery: true });
  });

  it('keeps reading from replicas while the primary is down, and refuses writes with PRIMARY_UNAVAILABLE', async () => {
    await cluster.stopServer('primary');
    try {
      const read = await postGraphQL(eu(), '{ products(first: 1) { id name } }');
      expect(read.status).toBe(200);
      expect(catalogSession(read)).toMatchObject({ serverPort: cluster.replicas.eu!.port, inRecovery: true });
      const write = await postGraphQL(us(), 'mutation { upsertProduct(id: "prd_03", name: "Giant Magnet", priceCents: 3173) { id } }', { token: await devToken('globex', 'usr_globex_1', { roles: ['platform-operator'] }) });
      expect(write.status).toBe(503);
      expect(write.body.errors?.[0]?.extensions?.code).toBe('PRIMARY_UNAVAILABLE');
      expect(JSON.stringify(write.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
    } finally {
      await cluster.startServer('primary');
    }
  });
});
