import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apolloRoute } from '../runtime/apollo-http.js';
import { startHttpServer, type RunningHttpServer } from '../runtime/http-server.js';
import { startDemoGraph, type DemoGraph } from './fixtures/demo-graph.js';
import { postGraphQL } from './fixtures/stack.js';

// Drop-in mode: `npm run gateway -- --supergraph FILE` on a graph geofed did not create, against the bare
// @apollo/gateway on the same subgraphs.
let graph: DemoGraph;
let bare: RunningHttpServer & { close(): Promise<void> };
let child: ChildProcess | undefined;
let geofedUrl: string;

beforeAll(async () => {
  graph = await startDemoGraph();
  const file = join(mkdtempSync(join(tmpdir(), 'geofed-dropin-')), 'supergraph.graphql');
  writeFileSync(file, graph.supergraphSdl);
  // Settings for the plugins of drop-in mode: the deepest query here costs 2210 (unannotated lists count 10 items).
  const settings = join(mkdtempSync(join(tmpdir(), 'geofed-dropin-')), 'settings.yaml');
  writeFileSync(settings, 'rate_limits:\n  anonymous: { capacity: 100000, refill_per_second: 1000 }\n');
  const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl: graph.supergraphSdl }), stopOnTerminationSignals: false });
  await server.start();
  const http = await startHttpServer({ routes: { '/graphql': apolloRoute(server, { maxBodyBytes: 1_048_576, context: async () => ({}) }) } });
  bare = { ...http, close: async () => { await http.stop(); await server.stop(); } };
  child = spawn(process.execPath, ['--import', 'tsx', 'cli/geofed.ts', 'gateway', '--supergraph', file, '--config', settings], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', GEOFED_AUDIT_LOG: 'silent' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  geofedUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /serving (http:\/\/\S+\/graphql)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child!.once('exit', (code) => reject(new Error(`drop-in gateway exited with ${code}: ${out}`)));
  });
});
afterAll(async () => {
  child?.kill('SIGTERM');
  await bare?.close();
  await graph?.stop();
});

const queries = [
  '{ topProducts { upc name price inStock shippingEstimate reviews { body author { username name reviews { product { name } } } } } }',
  '{ me { id name username reviews { body product { upc name weight inStock } } } }',
  'query Pair($n: Int) { first: topProducts(first: $n) { name } me { name } }',
];

describe('drop-in mode', () => {
  it('is ready once the supergraph is loaded', async () => {
    const ready = await fetch(geofedUrl.replace('/graphql', '/readyz'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
    const up = { default: { health: 'up', breaker: 'closed' } };
    const status = await fetch(geofedUrl.replace('/graphql', '/status'));
    expect(await status.json()).toMatchObject({ ready: true, subgraphs: { accounts: up, products: up, inventory: up, reviews: up } });
  });

  it.each(queries)('returns the same data as the bare @apollo/gateway: %s', async (query) => {
    const variables = { n: 2 };
    const expected = await postGraphQL(`${bare.url}/graphql`, query, { variables });
    const actual = await postGraphQL(geofedUrl, query, { variables });
    expect(expected.body.errors, JSON.stringify(expected.body.errors)).toBeUndefined();
    expect(actual.body.errors).toBeUndefined();
    expect(actual.body.data).toEqual(expected.body.data);
    expect((actual.body as { extensions?: { cost?: { estimated?: number } } }).extensions?.cost?.estimated).toBeGreaterThan(0);
  });

  it('keeps the operation limits on', async () => {
    const deep = await postGraphQL(geofedUrl, '{ me { reviews { product { reviews { author { reviews { body } } } } } } }');
    expect(deep.status).toBe(400);
    expect(deep.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});
