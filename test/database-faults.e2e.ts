import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicaCluster, type ReplicaCluster } from '../dev/replica-cluster.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { relayOutput } from './fixtures/child-output.js';
import { metricValue } from './fixtures/metrics.js';
import { devToken, postGraphQL, rowsAsOwner, startTestStack, type GraphQLResult, type TestStack } from './fixtures/stack.js';
import { waitFor } from './fixtures/wait.js';

// Database faults without crashes: the catalog's replica stopped and started twenty times under load (no client
// error, no crash of the catalog process), and a tenants-directory lookup that fails once (503, then served again
// at once). The us catalog instance under test is its own process (`npm run subgraph`), as deployed, on the
// cluster's replica; the rest of the stack reads the primary.
let cluster: ReplicaCluster;
let t: TestStack;
let catalog: ChildProcess;
let catalogUrl: string;
let gateway: RunningGateway;

beforeAll(async () => {
  cluster = await startReplicaCluster(['us']);
  await cluster.createDatabase('geofed_catalog');
  t = await startTestStack('postgres', { catalog: { primary: cluster.primary.url('geofed_catalog'), replicas: {} } });
  catalog = spawn(process.execPath, ['--import', 'tsx', 'subgraphs/main.ts', 'catalog', '--region', 'us'], {
    env: {
      ...process.env,
      PORT: '0',
      LOG_LEVEL: 'error',
      GEOFED_CATALOG_DATABASE_URL: cluster.primary.url('geofed_catalog'),
      GEOFED_CATALOG_REPLICA_URL_US: cluster.replicas.us!.url('geofed_catalog'),
      GEOFED_REPLICA_HEALTH_CHECK_INTERVAL_MS: '100',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  relayOutput(catalog, 'catalog');
  catalogUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    catalog.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /serving (http:\/\/\S+\/graphql)/.exec(out);
      if (match) resolve(match[1]!);
    });
    catalog.once('exit', (code) => reject(new Error(`the catalog exited with ${code}: ${out}`)));
  });
  const config = { ...t.stack.config, rateLimits: { ...t.stack.config.rateLimits, enabled: false }, subgraphs: t.stack.config.subgraphs.map((s) => (s.name === 'catalog' ? { ...s, urls: { ...s.urls, us: catalogUrl } } : s)) };
  gateway = await startGateway({ config, env: gatewayEnv({}), port: 0 });
  await cluster.waitForReplay();
}, 180_000);
afterAll(async () => {
  await gateway?.stop();
  catalog?.kill('SIGTERM');
  await t?.stop();
  await cluster?.stop();
});

const graphqlUrl = () => `${gateway.url}/graphql`;
const catalogMetric = (series: string) => metricValue(catalogUrl.replace('/graphql', ''), series);

describe('a replica that stops and starts under load', () => {
  it('costs no client an error and the catalog process no crash, twenty times over', async () => {
    const failures: GraphQLResult[] = [];
    let served = 0;
    let running = true;
    const client = async () => {
      while (running) {
        const result = await postGraphQL(graphqlUrl(), '{ products(first: 3) { id name } }');
        if (result.status !== 200 || result.body.errors) failures.push(result);
        else served += 1;
      }
    };
    const clients = Array.from({ length: 4 }, client);
    try {
      for (let cycle = 0; cycle < 20; cycle += 1) {
        const before = served;
        await cluster.stopServer('us');
        await waitFor(() => catalogMetric('geofed_catalog_replica_healthy'), { until: (healthy) => healthy === 0, what: `cycle ${cycle}: the replica out of the read path` });
        await cluster.startServer('us');
        await waitFor(() => catalogMetric('geofed_catalog_replica_healthy'), { until: (healthy) => healthy === 1, what: `cycle ${cycle}: the replica back` });
        await waitFor(async () => served, { until: (n) => n > before + 4, what: `cycle ${cycle}: reads served` });
      }
    } finally {
      running = false;
      await Promise.all(clients);
    }
    expect(failures.map((f) => ({ status: f.status, codes: f.body.errors?.map((e) => e.extensions?.code) }))).toEqual([]);
    expect(served).toBeGreaterThan(80);
    expect({ exitCode: catalog.exitCode, signal: catalog.signalCode }).toEqual({ exitCode: null, signal: null });
    expect(await catalogMetric('geofed_catalog_reads_total{target="replica",reason="local"}')).toBeGreaterThan(0);
  });
});

describe('a directory lookup that fails', () => {
  it('answers 503 DIRECTORY_UNAVAILABLE, caches nothing, and serves the tenant as soon as the directory answers', async () => {
    const tenant = `initrode_${randomUUID().slice(0, 8)}`;
    await rowsAsOwner(t.stack, 'catalog', sql`insert into tenants (id, name, region, plan) values (${tenant}, 'Initrode', 'us', 'free')`);
    const token = await devToken(tenant, `usr_${tenant}_1`);
    await rowsAsOwner(t.stack, 'catalog', sql`alter table tenants rename to tenants_gone`);
    try {
      await cluster.waitForReplay();
      const failed = await postGraphQL(graphqlUrl(), '{ products(first: 1) { id } }', { token });
      expect({ status: failed.status, code: failed.body.errors?.[0]?.extensions?.code }).toEqual({ status: 503, code: 'DIRECTORY_UNAVAILABLE' });
    } finally {
      await rowsAsOwner(t.stack, 'catalog', sql`alter table tenants_gone rename to tenants`);
      await cluster.waitForReplay();
    }
    const served = await postGraphQL(graphqlUrl(), '{ products(first: 1) { id } }', { token });
    expect({ status: served.status, data: served.body.data }).toEqual({ status: 200, data: { products: [{ id: 'prd_01' }] } });
  });
});
