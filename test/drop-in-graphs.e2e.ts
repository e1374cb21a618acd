import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../gateway/config.js';
import { dropInConfig, readComposedSupergraph } from '../gateway/drop-in.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { startDemoGraph, type DemoGraph } from './fixtures/demo-graph.js';
import { postGraphQL } from './fixtures/stack.js';

// Drop-in mode meets graphs of other teams: subgraph names Apollo composition accepts (`all-products`, `node-two`),
// and subgraphs that read the client's own headers (an `authorization` they verify themselves). The operator lists
// the client headers to pass on (headers.forward); the gateway's signed context (`x-geofed-*`) is never one of them.

let graph: DemoGraph;
let gateway: RunningGateway;
const folder = mkdtempSync(join(tmpdir(), 'geofed-dropin-graphs-'));
const supergraphFile = join(folder, 'supergraph.graphql');

function settingsFile(yaml: string): string {
  const file = join(mkdtempSync(join(folder, 'settings-')), 'settings.yaml');
  writeFileSync(file, yaml);
  return file;
}

beforeAll(async () => {
  graph = await startDemoGraph({ rename: { products: 'all-products', inventory: 'node-two' } });
  writeFileSync(supergraphFile, graph.supergraphSdl);
  const settings = settingsFile('headers:\n  forward: [Authorization, x-request-id]\nrate_limits:\n  anonymous: { capacity: 100000, refill_per_second: 1000 }\n');
  gateway = await startGateway({ config: { ...dropInConfig(supergraphFile, settings), gateway: { ...dropInConfig(supergraphFile, settings).gateway, port: 0 } }, env: gatewayEnv({}), compose: readComposedSupergraph });
});
afterAll(async () => {
  await gateway?.stop();
  await graph?.stop();
});

const received = (name: string) => graph.received.get(name)!;

describe('drop-in mode on another team\'s graph', () => {
  it('serves subgraphs whose names have hyphens', async () => {
    const result = await postGraphQL(`${gateway.url}/graphql`, '{ topProducts(first: 2) { name inStock shippingEstimate } }');
    expect(result.status).toBe(200);
    expect(result.body.errors).toBeUndefined();
    const products = (result.body.data as { topProducts: { name: string; inStock: unknown; shippingEstimate: unknown }[] }).topProducts;
    // name from all-products; inStock and shippingEstimate (which @requires price and weight) from node-two.
    expect(products.map((p) => [p.name, typeof p.inStock, typeof p.shippingEstimate])).toEqual([['Table', 'boolean', 'number'], ['Couch', 'boolean', 'number']]);
    expect(received('all-products').length).toBeGreaterThan(0);
    expect(received('node-two').length).toBeGreaterThan(0);
  });

  it('passes the allowed client headers on to every subgraph fetch, and nothing of x-geofed-* a client sends', async () => {
    const before = { products: received('all-products').length, inventory: received('node-two').length };
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer their-own-token',
        'x-request-id': 'req-42',
        cookie: 'session=secret',
        'x-geofed-tenant': 'forged',
        'x-geofed-signature': 'forged',
      },
      body: JSON.stringify({ query: '{ topProducts(first: 1) { name inStock } }' }),
    });
    expect(response.status).toBe(200);
    const fetches = [...received('all-products').slice(before.products), ...received('node-two').slice(before.inventory)];
    expect(fetches.length).toBe(2);
    for (const headers of fetches) {
      expect(headers.authorization).toBe('Bearer their-own-token');
      expect(headers['x-request-id']).toBe('req-42');
      expect(headers.cookie).toBeUndefined();
      expect(headers['x-geofed-tenant']).not.toBe('forged');
      expect(headers['x-geofed-signature']).not.toBe('forged');
    }
  });

  it('sends each distinct entity of a fetch once, and answers every position with its own entity', async () => {
    const result = await postGraphQL(`${gateway.url}/graphql`, '{ topProducts { upc reviews { id author { name } } } }');
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data).toEqual({
      topProducts: [
        { upc: '1', reviews: [{ id: '1', author: { name: 'Ada Lovelace' } }, { id: '4', author: { name: 'Alan Turing' } }] },
        { upc: '2', reviews: [{ id: '2', author: { name: 'Ada Lovelace' } }] },
        { upc: '3', reviews: [{ id: '3', author: { name: 'Alan Turing' } }] },
      ],
    });
    // Four author positions, two users: accounts was asked for each user once.
    expect(graph.receivedVariables.get('accounts')!.at(-1)).toEqual({ representations: [{ __typename: 'User', id: '1' }, { __typename: 'User', id: '2' }] });
  });

  it('reads subgraph_limits from --config: deduplication can be turned off', () => {
    expect(dropInConfig(supergraphFile).subgraphLimits.dedup).toBe(true);
    expect(dropInConfig(supergraphFile, settingsFile('subgraph_limits:\n  dedup: false\n  max_in_flight: 8\n')).subgraphLimits).toMatchObject({ dedup: false, maxInFlight: 8 });
  });

  it('refuses a config that would forward x-geofed-* or a connection header, naming the key', () => {
    expect(() => dropInConfig(supergraphFile, settingsFile('headers:\n  forward: [host]\n'))).toThrow(/headers\.forward\.0: a header of the connection/);
    expect(() => dropInConfig(supergraphFile, settingsFile('headers:\n  forward: [X-Geofed-Tenant]\n'))).toThrow(ConfigError);
    expect(() => dropInConfig(supergraphFile, settingsFile('headers:\n  forward: [X-Geofed-Tenant]\n'))).toThrow(/headers\.forward\.0: x-geofed-\* headers carry the gateway's signed context/);
    expect(() => dropInConfig(supergraphFile, settingsFile('headers:\n  forward: [connection]\n'))).toThrow(/headers\.forward\.0: a header of the connection/);
  });
});
