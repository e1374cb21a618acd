import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess, writeGatewayConfig } from './fixtures/gateway-process.js';
import { startTestStack, type TestStack } from './fixtures/stack.js';
import { startUpstashRestProxy, type UpstashRestProxy } from '../dev/upstash-rest-proxy.js';

// Persisted queries through geofed's own gateway processes: APQ shared through Redis, and a safelist manifest.
let t: TestStack;
let proxy: UpstashRestProxy;
const children: ChildProcess[] = [];
beforeAll(async () => {
  t = await startTestStack('postgres');
  proxy = await startUpstashRestProxy();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  await proxy?.stop();
  await t?.stop();
});

const preflight = { 'apollo-require-preflight': 'true' };
const hashOf = (body: string) => createHash('sha256').update(body).digest('hex');
const byHash = (url: string, hash: string) => `${url}?${new URLSearchParams({ extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: hash } }) })}`;
const codeOf = async (response: Response) => ((await response.json()) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;

describe('persisted queries through gateway processes', () => {
  it('shares APQ registrations between two gateway processes through Upstash Redis', async () => {
    const config = writeGatewayConfig(t.stack, { persisted_queries: { mode: 'off' } });
    const upstash = { UPSTASH_REDIS_REST_URL: proxy.url, UPSTASH_REDIS_REST_TOKEN: proxy.token };
    const [a, b] = await Promise.all([startGatewayProcess(config, upstash, children), startGatewayProcess(config, upstash, children)]);
    const query = `{ products(first: 2) { id } } # ${Date.now()}`;
    expect(await codeOf(await fetch(byHash(b!, hashOf(query)), { headers: preflight }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    const register = await fetch(a!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash: hashOf(query) } } }) });
    expect(register.status).toBe(200);
    const hit = await fetch(byHash(b!, hashOf(query)), { headers: preflight });
    expect(hit.status).toBe(200);
    expect(((await hit.json()) as { data: unknown }).data).toEqual({ products: [{ id: 'prd_01' }, { id: 'prd_02' }] });
  });

  it('serves only the manifest in safelist mode, listed operations by hash over POST and GET', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'geofed-ops-'));
    writeFileSync(join(folder, 'products.graphql'), 'query TopProducts { products(first: 3) { id name } }\n');
    const manifestPath = join(folder, 'manifest.json');
    execFileSync(process.execPath, ['--import', 'tsx', 'cli/geofed.ts', 'pq', 'manifest', folder, '--out', manifestPath]);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { format: string; operations: { id: string; name: string; body: string }[] };
    expect(manifest.format).toBe('apollo-persisted-query-manifest');
    const [listed] = manifest.operations;
    expect(listed!.id).toBe(hashOf(listed!.body));
    const url = await startGatewayProcess(writeGatewayConfig(t.stack, { persisted_queries: { mode: 'safelist', manifest: manifestPath } }), {}, children);

    const unlisted = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ products(first: 50) { id } }' }) });
    expect(unlisted.status).toBe(400);
    expect(await codeOf(unlisted)).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    const post = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: listed!.id } } }) });
    expect(post.status).toBe(200);
    const get = await fetch(byHash(url, listed!.id), { headers: preflight });
    expect(get.status).toBe(200);
    expect(get.headers.get('cache-control')).toBe('public, max-age=0, s-maxage=60');
    expect(((await get.json()) as { data: { products: unknown[] } }).data.products).toHaveLength(3);
  });
});
