import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GeofedConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';
import { waitFor } from './fixtures/wait.js';

// Hot reload under a steady load: the schema files of a gateway change three times, once into a supergraph that
// does not compose; no request fails, and the cost plugin prices with whichever supergraph is live.
let t: TestStack;
let gateway: RunningGateway;
let config: GeofedConfig;
const folder = mkdtempSync(join(tmpdir(), 'geofed-reload-'));
const schemaFile = (name: string) => join(folder, `${name}.graphql`);
const edit = (name: string, from: string | RegExp, to: string) => writeFileSync(schemaFile(name), readFileSync(schemaFile(name), 'utf8').replace(from, to));

beforeAll(async () => {
  t = await startTestStack('postgres');
  config = {
    ...t.stack.config,
    rateLimits: { ...t.stack.config.rateLimits, enabled: false },
    subgraphs: t.stack.config.subgraphs.map((subgraph) => {
      const file = subgraph.schema.file!;
      copyFileSync(file, join(folder, basename(file)));
      return { ...subgraph, schema: { file: join(folder, basename(file)) } };
    }),
  };
  gateway = await startGateway({ config, env: gatewayEnv({}), port: 0, reloadConfig: () => config, watch: true });
});
afterAll(async () => {
  await gateway?.stop();
  await t?.stop();
});

const query = '{ me { orders { items { product { name } } } } }';
const costWith = (itemsSize: number) => 1 + 10 + 10 * itemsSize + 10 * itemsSize;

describe('hot reload', () => {
  it('swaps the supergraph three times under load without a failed request, refusing one that does not compose', async () => {
    const token = await devToken('acme', 'usr_acme_1');
    const url = `${gateway.url}/graphql`;
    const estimated = async () => ((await postGraphQL(url, query, { token })).body as { extensions?: { cost?: { estimated?: number } } }).extensions?.cost?.estimated;
    expect(await estimated()).toBe(costWith(5));
    let running = true;
    let sent = 0;
    const failures: string[] = [];
    const worker = async () => {
      while (running) {
        const result = await postGraphQL(url, query, { token });
        sent += 1;
        if (result.status !== 200 || result.body.errors) failures.push(`${result.status} ${JSON.stringify(result.body.errors)}`);
      }
    };
    const load = Promise.all(Array.from({ length: 6 }, worker));
    const firstVersion = gateway.supergraph().version;

    edit('orders', '@listSize(assumedSize: 5)', '@listSize(assumedSize: 7)');
    expect(await gateway.reload()).toMatchObject({ ok: true });
    expect(await estimated()).toBe(costWith(7));
    const secondVersion = gateway.supergraph().version;
    expect(secondVersion).not.toBe(firstVersion);

    edit('users', /type Tenant @key\(fields: "id", resolvable: false\) \{\n {2}id: ID!/, 'type Tenant @key(fields: "id", resolvable: false) {\n  id: Int!');
    const refused = await gateway.reload();
    expect(refused).toMatchObject({ ok: false, version: secondVersion });
    const ready = (await (await fetch(`${gateway.url}/readyz`)).json()) as { supergraph: { version: string; lastError?: string } };
    expect(ready.supergraph.version).toBe(secondVersion);
    expect(ready.supergraph.lastError).toMatch(/Tenant\.id/);
    expect(await estimated()).toBe(costWith(7));

    edit('users', /type Tenant @key\(fields: "id", resolvable: false\) \{\n {2}id: Int!/, 'type Tenant @key(fields: "id", resolvable: false) {\n  id: ID!');
    edit('orders', '@listSize(assumedSize: 7)', '@listSize(assumedSize: 9)');
    expect(await gateway.reload()).toMatchObject({ ok: true });
    expect(await estimated()).toBe(costWith(9));

    // Keep the load on until the workers have sent enough requests through the last swap.
    const atLastSwap = sent;
    await waitFor(() => sent, { until: (n) => n >= atLastSwap + 20, timeoutMs: 10_000, what: 'requests after the last swap' });
    running = false;
    await load;
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(20);
  });

  it('reloads on its own when a schema file changes', async () => {
    const before = gateway.supergraph().version;
    // Whatever size an earlier test left: this test must not depend on another's edits.
    edit('orders', /@listSize\(assumedSize: \d+\)/, '@listSize(assumedSize: 4)');
    await waitFor(() => gateway.supergraph().version, { until: (version) => version !== before, what: 'a reload on the file change' });
    const result = await postGraphQL(`${gateway.url}/graphql`, query, { token: await devToken('acme', 'usr_acme_1') });
    expect((result.body as { extensions?: { cost?: { estimated?: number } } }).extensions?.cost?.estimated).toBe(costWith(4));
  });
});
