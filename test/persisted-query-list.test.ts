import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { persistedQueries, type PersistedQueryMode } from '../plugins/persisted-queries/index.js';
import { buildManifest, sha256Hex } from '../plugins/persisted-queries/manifest.js';
import { logger } from '../runtime/logger.js';

const typeDefs = 'type Product { id: ID! name: String! } type Query { products: [Product!]! }';
const products = vi.fn(() => [{ id: 'p1', name: 'Lamp' }]);
const manifest = buildManifest([{ file: 'products.graphql', text: 'query Products { products { id name } }' }]);
const listed = manifest.operations[0]!;
const unlisted = 'query Ids { products { id } }';

let directory: string;
let manifestPath: string;
beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'geofed-pq-'));
  manifestPath = join(directory, 'manifest.json');
  writeFileSync(manifestPath, JSON.stringify(manifest));
});
afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

const servers: ApolloServer[] = [];
let warned: MockInstance;
beforeEach(() => {
  warned = vi.spyOn(logger, 'warn').mockImplementation(() => undefined);
});
afterEach(async () => {
  warned.mockRestore();
  products.mockClear();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function gateway(mode: PersistedQueryMode) {
  const pq = persistedQueries({ mode, manifestPath });
  const server = new ApolloServer({
    typeDefs,
    resolvers: { Query: { products } },
    persistedQueries: pq.persistedQueries,
    plugins: [...pq.plugins, ApolloServerPluginCacheControlDisabled()],
  });
  servers.push(server);
  await server.start();
  return async (request: { query?: string; hash?: string }) => {
    const extensions = request.hash ? { persistedQuery: { version: 1, sha256Hash: request.hash } } : undefined;
    const response = await server.executeOperation({ ...(request.query ? { query: request.query } : {}), ...(extensions ? { extensions } : {}) });
    const single = response.body.kind === 'single' ? response.body.singleResult : undefined;
    return { status: response.http.status, data: single?.data, codes: single?.errors?.map((error) => error.extensions?.code), resolved: products.mock.calls.length };
  };
}

const served = { status: undefined, data: { products: [{ id: 'p1', name: 'Lamp' }] }, codes: undefined, resolved: 1 };
const notInList = { status: 400, data: undefined, codes: ['PERSISTED_QUERY_NOT_IN_LIST'], resolved: 0 };
const logLine = (mode: string, operationName: string | null, operationType: string | null, body = unlisted) => [
  { queryHash: sha256Hex(body), operationName, operationType, mode },
  mode === 'safelist' ? 'operation not in the persisted-query list: refused' : 'operation not in the persisted-query list: served',
];

describe('persisted-query list, safelist mode', () => {
  it('serves a listed operation by its body or by its hash alone', async () => {
    const run = await gateway('safelist');
    expect(await run({ query: listed.body })).toEqual(served);
    products.mockClear();
    expect(await run({ hash: listed.id })).toEqual(served);
    expect(warned.mock.calls).toEqual([]);
  });

  it('refuses an unlisted operation before any resolver runs, and logs its hash and name only', async () => {
    const run = await gateway('safelist');
    expect(await run({ query: unlisted })).toEqual(notInList);
    expect(warned.mock.calls).toEqual([logLine('safelist', 'Ids', 'query')]);
  });

  it('refuses a body that differs from the listed one in whitespace only', async () => {
    const run = await gateway('safelist');
    expect(await run({ query: 'query Products { products { id  name } }' })).toEqual(notInList);
  });

  it('answers an unlisted invalid operation with the same refusal, telling a prober nothing of the schema', async () => {
    const run = await gateway('safelist');
    expect(await run({ query: '{ products { secret } }' })).toEqual(notInList);
    expect(await run({ query: '{ products {' })).toEqual(notInList);
  });

  it('registers nothing sent with a hash', async () => {
    const run = await gateway('safelist');
    expect(await run({ query: unlisted, hash: sha256Hex(unlisted) })).toEqual(notInList);
    expect((await run({ hash: sha256Hex(unlisted) })).codes).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
  });
});

describe('persisted-query list, other modes', () => {
  it('log-unlisted: serves an unlisted operation and logs it', async () => {
    const run = await gateway('log-unlisted');
    expect(await run({ query: unlisted })).toEqual({ ...served, data: { products: [{ id: 'p1' }] } });
    expect(warned.mock.calls).toEqual([logLine('log-unlisted', 'Ids', 'query')]);
  });

  it('log-unlisted: keeps APQ registration working', async () => {
    const run = await gateway('log-unlisted');
    await run({ query: unlisted, hash: sha256Hex(unlisted) });
    products.mockClear();
    expect(await run({ hash: sha256Hex(unlisted) })).toEqual({ ...served, data: { products: [{ id: 'p1' }] } });
  });

  it('off: serves everything without a word, and still finds listed bodies by hash', async () => {
    const run = await gateway('off');
    expect((await run({ query: unlisted })).resolved).toEqual(1);
    products.mockClear();
    expect(await run({ hash: listed.id })).toEqual(served);
    expect(warned.mock.calls).toEqual([]);
  });
});
