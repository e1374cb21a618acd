import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApolloServer } from '@apollo/server';
import { Redis as DirectRedis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { persistedQuerySettings } from '../plugins/persisted-queries/settings.js';
import { apolloRoute } from '../runtime/apollo-http.js';
import { startHttpServer } from '../runtime/http-server.js';
import { copyLogLines } from '../runtime/logger.js';
import { persistedQueries, type PersistedQueryOptions } from '../plugins/persisted-queries/index.js';
import { loadManifest, type PersistedQueryManifest } from '../plugins/persisted-queries/manifest.js';
import { startUpstashRestProxy, type UpstashRestProxy } from '../dev/upstash-rest-proxy.js';
import { waitFor } from './fixtures/wait.js';

const typeDefs = 'type Query { hello(name: String!): String! version: String! secret: String! } type Mutation { bump: Int! }';
let secretReads = 0;
let bumps = 0;
const resolvers = {
  Query: { hello: (_: unknown, { name }: { name: string }) => `hello ${name}`, version: () => 'v1', secret: () => `secret ${++secretReads}` },
  Mutation: { bump: () => ++bumps },
};

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const apq = (query: string) => ({ persistedQuery: { version: 1, sha256Hash: sha256(query) } });
type Reply = { status: number; body: { data?: Record<string, unknown>; errors?: { message: string; extensions?: { code?: string } }[] } };
const codeOf = (reply: Reply) => reply.body.errors?.[0]?.extensions?.code;

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** A small ApolloServer with the persisted-query options spread in, over real HTTP; returns its /graphql URL. */
/** One Upstash store that every gateway shares, and no document held as a region's. */
const sharedOnly = (shared: { url: string; token: string }) => ({ shared, regional: {}, homeRegion: () => undefined, isRegional: () => false });

async function serve(options: PersistedQueryOptions): Promise<string> {
  const server = new ApolloServer({ typeDefs, resolvers, ...persistedQueries(options) });
  await server.start();
  const http = await startHttpServer({ routes: { '/graphql': apolloRoute(server, { maxBodyBytes: 1_000_000, context: async () => ({}) }) } });
  stops.push(async () => {
    await http.stop();
    await server.stop();
  });
  return `${http.url}/graphql`;
}

async function post(url: string, body: Record<string, unknown>): Promise<Reply> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Reply['body'] };
}

async function get(url: string, params: Record<string, unknown>): Promise<Reply> {
  const search = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  const response = await fetch(`${url}?${search}`, { headers: { 'apollo-require-preflight': 'true' } });
  return { status: response.status, body: (await response.json()) as Reply['body'] };
}

const hello = 'query Hello($name: String!) { hello(name: $name) }';

describe('automatic persisted queries', () => {
  it('POST: miss → PERSISTED_QUERY_NOT_FOUND, registration, then a hit by hash alone', async () => {
    const url = await serve({ mode: 'off' });
    expect(codeOf(await post(url, { extensions: apq(hello), variables: { name: 'a' } }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await post(url, { query: hello, extensions: apq(hello), variables: { name: 'b' } })).body).toEqual({ data: { hello: 'hello b' } });
    expect(await post(url, { extensions: apq(hello), variables: { name: 'c' } })).toEqual({ status: 200, body: { data: { hello: 'hello c' } } });
  });

  it('GET: miss, registration and hit, with the CSRF preflight header', async () => {
    const url = await serve({ mode: 'off' });
    expect(codeOf(await get(url, { extensions: apq(hello), variables: { name: 'a' } }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect((await get(url, { query: hello, extensions: apq(hello), variables: { name: 'b' } })).body).toEqual({ data: { hello: 'hello b' } });
    expect(await get(url, { extensions: apq(hello), variables: { name: 'c' } })).toEqual({ status: 200, body: { data: { hello: 'hello c' } } });
  });

  describe('shared through Upstash', () => {
    const keyPrefix = `geofed:test:pq:${randomBytes(4).toString('hex')}:`;
    let proxy: UpstashRestProxy;
    let redis: DirectRedis;
    beforeAll(async () => {
      proxy = await startUpstashRestProxy();
      redis = new DirectRedis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
    });
    afterAll(async () => {
      const keys = await redis?.keys(`${keyPrefix}*`);
      if (keys?.length) await redis.del(...keys);
      redis?.disconnect();
      await proxy?.stop();
    });

    it('a body registered on one server is found by hash on another', async () => {
      const upstash = { url: proxy.url, token: proxy.token };
      const [one, two] = [await serve({ mode: 'off', stores: sharedOnly(upstash), keyPrefix }), await serve({ mode: 'off', stores: sharedOnly(upstash), keyPrefix })];
      expect(codeOf(await post(two, { extensions: apq(hello), variables: { name: 'x' } }))).toBe('PERSISTED_QUERY_NOT_FOUND');
      expect((await post(one, { query: hello, extensions: apq(hello), variables: { name: 'one' } })).body.data).toEqual({ hello: 'hello one' });
      // Apollo registers after answering; wait for the key rather than racing it.
      const key = `${keyPrefix}${sha256(hello)}`;
      await waitFor(() => redis.exists(key), { until: (n) => n === 1, what: `${key} in Redis` });
      expect(await redis.get(key)).toBe(hello);
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(86_400);
      expect((await get(two, { extensions: apq(hello), variables: { name: 'two' } })).body).toEqual({ data: { hello: 'hello two' } });
    });

    it('an unreachable store is a miss, never an error to the client', async () => {
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
      const { port } = closed.address() as { port: number };
      await new Promise((r) => closed.close(r));
      const lines: string[] = [];
      const stopCopy = copyLogLines((line) => lines.push(line));
      stops.push(async () => stopCopy());
      const url = await serve({ mode: 'off', stores: sharedOnly({ url: `http://127.0.0.1:${port}`, token: 't' }) });
      expect(await post(url, { extensions: apq(hello), variables: { name: 'a' } })).toMatchObject({ body: { errors: [{ extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] } });
      expect(await post(url, { query: hello, extensions: apq(hello), variables: { name: 'b' } })).toEqual({ status: 200, body: { data: { hello: 'hello b' } } });
      expect(lines.some((line) => line.includes('lookup answered as a miss'))).toBe(true);
    });
  });
});

describe('persisted-query lists', () => {
  const dir = mkdtempSync(join(tmpdir(), 'geofed-pq-'));
  const manifestPath = join(dir, 'manifest.json');
  let manifest: PersistedQueryManifest;
  const op = (name: string) => manifest.operations.find((o) => o.name === name)!;

  beforeAll(async () => {
    const ops = join(dir, 'operations');
    mkdirSync(join(ops, 'nested'), { recursive: true });
    writeFileSync(join(ops, 'hello.graphql'), 'query Hello($name: String!) {\n  hello(name: $name)\n  ...VersionFields\n}\n');
    writeFileSync(join(ops, 'nested', 'fragments.graphql'), 'fragment VersionFields on Query { version }');
    writeFileSync(join(ops, 'bump.graphql'), 'mutation Bump { bump }');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'cli/geofed.ts', 'pq', 'manifest', ops, '--out', manifestPath]);
    expect(stdout).toContain('2 operations from 3 files');
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as PersistedQueryManifest;
  });

  it('the CLI writes Apollo\'s manifest format: printed bodies with their fragments, id = sha256(body)', () => {
    expect(manifest).toMatchObject({ format: 'apollo-persisted-query-manifest', version: 1 });
    expect(manifest.operations.map(({ name, type }) => ({ name, type }))).toEqual([{ name: 'Bump', type: 'mutation' }, { name: 'Hello', type: 'query' }]);
    expect(op('Hello').body).toBe('query Hello($name: String!) {\n  hello(name: $name)\n  ...VersionFields\n}\n\nfragment VersionFields on Query {\n  version\n}');
    for (const o of manifest.operations) expect(o.id).toBe(sha256(o.body));
    expect(loadManifest(manifestPath)).toEqual(manifest);
  });

  it('the CLI refuses anonymous and duplicate operations, naming the files', async () => {
    const ops = mkdtempSync(join(tmpdir(), 'geofed-pq-bad-'));
    writeFileSync(join(ops, 'a.graphql'), '{ version }\nquery Same { version }');
    writeFileSync(join(ops, 'b.graphql'), 'query Same { secret }');
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'cli/geofed.ts', 'pq', 'manifest', ops, '--out', join(ops, 'm.json')]);
    await expect(run).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/a\.graphql:1: an anonymous query[\s\S]*b\.graphql:1: operation Same is also defined in .*a\.graphql/) });
  });

  it('safelist: unlisted operations are refused before execution; listed ones by body or by hash (POST, GET)', async () => {
    const url = await serve({ mode: 'safelist', manifestPath });
    const secretReadsBefore = secretReads;
    const refused = { status: 400, body: { errors: [{ message: expect.any(String), extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST' } }] } };
    expect(await post(url, { query: '{ secret }' })).toEqual(refused);
    expect(await get(url, { query: '{ secret }' })).toEqual(refused);
    expect(await post(url, { query: '{ nope }' })).toEqual(refused); // not a validation error that names the schema
    // No APQ registration of a new body: the retry is refused and the hash stays unknown.
    expect(await post(url, { query: '{ secret }', extensions: apq('{ secret }') })).toEqual(refused);
    expect(codeOf(await post(url, { extensions: apq('{ secret }') }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(secretReads - secretReadsBefore, 'the secret resolver never ran').toBe(0);

    const data = { hello: 'hello pq', version: 'v1' };
    expect(await post(url, { query: op('Hello').body, variables: { name: 'pq' } })).toEqual({ status: 200, body: { data } });
    expect(await post(url, { extensions: apq(op('Hello').body), variables: { name: 'pq' } })).toEqual({ status: 200, body: { data } });
    expect(await get(url, { extensions: apq(op('Hello').body), variables: { name: 'pq' } })).toEqual({ status: 200, body: { data } });
    expect((await post(url, { extensions: apq(op('Bump').body) })).body.data).toEqual({ bump: expect.any(Number) });
  });

  it('off with a manifest: listed operations are found by hash, unlisted ones served', async () => {
    const url = await serve({ mode: 'off', manifestPath });
    expect((await get(url, { extensions: apq(op('Hello').body), variables: { name: 'o' } })).body.data).toEqual({ hello: 'hello o', version: 'v1' });
    expect((await post(url, { query: '{ version }' })).body.data).toEqual({ version: 'v1' });
  });

  it('log-unlisted: unlisted operations are served and logged once each, without variables or literals', async () => {
    const lines: string[] = [];
    const stopCopy = copyLogLines((line) => lines.push(line));
    stops.push(async () => stopCopy());
    const url = await serve({ mode: 'log-unlisted', manifestPath });
    const unlisted = 'query Probe($token: String!) { hello(name: $token) other: hello(name: "alice@example.com") }';
    expect((await post(url, { query: unlisted, variables: { token: 'sensitive-value-123' } })).body.data).toEqual({ hello: 'hello sensitive-value-123', other: 'hello alice@example.com' });
    expect((await post(url, { extensions: apq(op('Hello').body), variables: { name: 'quiet' } })).body.data).toMatchObject({ hello: 'hello quiet' });
    const logged = lines.filter((line) => line.includes('persisted-query list')).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toEqual([expect.objectContaining({ queryHash: sha256(unlisted), operationName: 'Probe', operationType: 'query', mode: 'log-unlisted' })]);
    expect(lines.join('\n')).not.toMatch(/sensitive-value-123|alice@example\.com/);
  });

  it('a malformed manifest is a clear error naming the file and the fault', () => {
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const load = (path: string | undefined) => () => persistedQueries({ mode: 'safelist', ...(path ? { manifestPath: path } : {}) });
    const good = JSON.parse(readFileSync(manifestPath, 'utf8')) as { operations: Record<string, unknown>[] };
    expect(load(write('a.json', '{ "format": '))).toThrow(/a\.json: is not valid JSON/);
    expect(load(write('b.json', JSON.stringify({ ...good, format: 'relay' })))).toThrow(/b\.json: "format" must be "apollo-persisted-query-manifest", not "relay"/);
    expect(load(write('c.json', JSON.stringify({ ...good, operations: [{ ...good.operations[0], id: 'abc' }] })))).toThrow(/c\.json: operations\[0\]\.id \("abc"\) is not the sha256 of its body/);
    expect(load(write('d.json', JSON.stringify({ ...good, operations: [{ ...good.operations[1], type: 'mutation' }] })))).toThrow(/d\.json: operations\[0\] \(Hello\): body's Hello is a query, not a mutation/);
    expect(load(join(dir, 'missing.json'))).toThrow(/missing\.json: cannot be read/);
    expect(persistedQuerySettings.safeParse({ mode: 'safelist' }).error?.issues).toMatchObject([{ path: ['manifest'], message: 'a mode other than "off" needs a manifest file' }]);
  });
});
