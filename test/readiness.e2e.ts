import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { freePort } from '../dev/ports.js';
import { loadConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { writeGatewayConfig } from './fixtures/gateway-process.js';
import { postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';
import { waitFor } from './fixtures/wait.js';

// Readiness as Apollo Router has it: ready means a supergraph is loaded and the process serves, never that every
// subgraph is up. Before the first supergraph /graphql and readiness answer 503; with one subgraph instance down the
// gateway stays ready and /status and /metrics say which one is down. With gateway.admin_port the operator endpoints
// leave the public port.

let t: TestStack;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  t = await startTestStack('pglite');
});
afterAll(async () => {
  for (const gateway of gateways) await gateway.stop();
  await t?.stop();
});

/** A gateway config file on this stack; the catalog's schema is introspected from its us instance, not read from a file. */
function configFile(overrides: Record<string, unknown> = {}): string {
  const path = writeGatewayConfig(t.stack, overrides);
  const file = parse(readFileSync(path, 'utf8')) as { supergraph?: string; subgraphs: Record<string, { schema: unknown; urls: Record<string, string> }> };
  delete file.supergraph;
  file.subgraphs.catalog!.schema = { subgraph_url: file.subgraphs.catalog!.urls.us };
  writeFileSync(path, stringify(file));
  return path;
}

async function answer(url: string) {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface Status {
  ready: boolean;
  subgraphs: Record<string, Record<string, { health: string; breaker: string }>>;
}

describe('before the supergraph is loaded', () => {
  it('answers 503 on readiness and /graphql while a subgraph to introspect is down, then serves once it is up', async () => {
    await t.stack.stopSubgraphInstance('catalog', 'us');
    const port = await freePort();
    const path = configFile();
    const starting = startGateway({ config: loadConfig(path, {}), env: gatewayEnv({}), port });
    starting.catch(() => undefined);
    const base = `http://127.0.0.1:${port}`;
    try {
      const notReady = await waitFor(() => answer(`${base}/health?ready`).catch(() => undefined), { timeoutMs: 30_000, what: 'the listener to answer' });
      expect(notReady).toEqual({ status: 503, body: { status: 'DOWN' } });
      expect(await answer(`${base}/health`)).toEqual({ status: 200, body: { status: 'UP' } });
      expect(await answer(`${base}/readyz`)).toMatchObject({ status: 503, body: { status: 'starting', supergraph: null } });
      const query = await postGraphQL(`${base}/graphql`, '{ products(first: 1) { id } }');
      expect([query.status, query.body.errors?.[0]?.extensions?.code]).toEqual([503, 'GATEWAY_NOT_READY']);
    } finally {
      await t.stack.startSubgraphInstance('catalog', 'us');
    }
    const gateway = await starting;
    gateways.push(gateway);
    expect(await answer(`${base}/health?ready`)).toEqual({ status: 200, body: { status: 'UP' } });
    expect((await postGraphQL(`${base}/graphql`, '{ products(first: 1) { id } }')).status).toBe(200);
  });
});

describe('with one subgraph instance down', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startGateway({ config: loadConfig(configFile(), {}), env: gatewayEnv({}), port: 0 });
    gateways.push(gateway);
  });

  it('stays ready, and /status and /metrics name the instance that is down', async () => {
    await t.stack.stopSubgraphInstance('users', 'us');
    try {
      expect(await answer(`${gateway.url}/health?ready`)).toEqual({ status: 200, body: { status: 'UP' } });
      expect(await answer(`${gateway.url}/readyz`)).toMatchObject({ status: 200, body: { status: 'ready', region: 'us' } });
      const status = await answer(`${gateway.url}/status`);
      expect(status.status).toBe(200);
      const { ready, subgraphs } = status.body as unknown as Status;
      expect(ready).toBe(true);
      expect(subgraphs.users!.us!.health).toBe('down');
      expect(subgraphs.users!.eu!.health).toBe('up');
      expect(subgraphs.catalog!.us!.health).toBe('up');
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
      expect(metrics).toMatch(/geofed_subgraph_up\{subgraph="users",region="us"\} 0/);
      expect(metrics).toMatch(/geofed_subgraph_up\{subgraph="users",region="eu"\} 1/);
      // The catalog keeps serving from this gateway.
      expect((await postGraphQL(`${gateway.url}/graphql`, '{ products(first: 1) { id } }')).status).toBe(200);
    } finally {
      await t.stack.startSubgraphInstance('users', 'us');
    }
    const back = await waitFor(() => answer(`${gateway.url}/status`), { until: (s) => (s.body as unknown as Status).subgraphs.users!.us!.health === 'up', timeoutMs: 15_000, what: 'users-us to be up again' });
    expect(back.status).toBe(200);
  });
});

describe('gateway.admin_port', () => {
  it('serves health, readiness, status and metrics on the admin listener only', async () => {
    const adminPort = await freePort();
    const gateway = await startGateway({ config: loadConfig(configFile({ gateway: { admin_port: adminPort } }), {}), env: gatewayEnv({}), port: 0 });
    gateways.push(gateway);
    expect(gateway.adminUrl).toBe(`http://127.0.0.1:${adminPort}`);
    for (const path of ['/health', '/health?ready', '/readyz', '/status', '/metrics']) {
      expect((await fetch(`${gateway.url}${path}`)).status, `${path} on the public port`).toBe(404);
      expect((await fetch(`${gateway.adminUrl}${path}`)).status, `${path} on the admin port`).toBe(200);
    }
    expect((await postGraphQL(`${gateway.url}/graphql`, '{ products(first: 1) { id } }')).status).toBe(200);
  });
});
