import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNginxCache, type NginxCache } from './fixtures/nginx-cache.js';
import { devToken, startTestStack, type TestStack } from './fixtures/stack.js';

// A real shared cache (nginx, caching only by what the gateway's Cache-Control and Vary say) in front of geofed.
let t: TestStack;
let cdn: NginxCache;
beforeAll(async () => {
  t = await startTestStack('postgres');
  cdn = await startNginxCache(t.stack.gateway.url);
});
afterAll(async () => {
  await cdn?.stop();
  await t?.stop();
});

/** What a browser sends for a persisted GET: the hash in the URL, and Apollo's CSRF header, which is not in the cache key. */
async function persistedGet(query: string, headers: Record<string, string> = {}) {
  const hash = createHash('sha256').update(query).digest('hex');
  const extensions = JSON.stringify({ persistedQuery: { version: 1, sha256Hash: hash } });
  const url = `${cdn.url}/graphql?${new URLSearchParams({ extensions })}`;
  const send = () => fetch(url, { headers: { 'apollo-require-preflight': 'true', ...headers } });
  let response = await send();
  const body = (await response.clone().json()) as { errors?: { extensions?: { code?: string } }[] };
  if (body.errors?.[0]?.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND') {
    // Apollo's protocol: the client registers the body once, then the hash alone is enough.
    await fetch(`${url}&${new URLSearchParams({ query })}`, { headers: { 'apollo-require-preflight': 'true', ...headers } });
    response = await send();
  }
  return { status: response.status, cache: response.headers.get('x-cache-status'), body: await response.text() };
}

describe('a CDN in front of the gateway', () => {
  it('serves an anonymous persisted GET of products from its cache: MISS, then HIT', async () => {
    const query = '{ products(first: 4) { id name priceCents } }';
    const first = await persistedGet(query);
    expect(first.status).toBe(200);
    expect(first.cache).toBe('MISS');
    const before = t.stack.subgraph('catalog', 'us').requestCount();
    const second = await persistedGet(query);
    expect(second.cache).toBe('HIT');
    expect(second.body).toBe(first.body);
    expect(t.stack.subgraph('catalog', 'us').requestCount()).toBe(before);
  });

  it('never serves the same GET with a token from its cache', async () => {
    const query = '{ products(first: 5) { id } }';
    await persistedGet(query);
    const token = await devToken('globex', 'usr_globex_1');
    for (let i = 0; i < 3; i += 1) expect((await persistedGet(query, { authorization: `Bearer ${token}` })).cache).not.toBe('HIT');
  });

  it('never returns tenant A\'s me to tenant B through the same URL', async () => {
    const query = '{ me { email name } }';
    const a = await persistedGet(query, { authorization: `Bearer ${await devToken('acme', 'usr_acme_1')}` });
    const b = await persistedGet(query, { authorization: `Bearer ${await devToken('globex', 'usr_globex_1')}` });
    expect(a.body).toContain('ada.lovelace@acme.example');
    expect(b.body).toContain('grace.hopper@globex.example');
    expect(b.body).not.toContain('acme');
    expect(b.cache).not.toBe('HIT');
  });

  it('never caches an error', async () => {
    const url = `${cdn.url}/graphql?${new URLSearchParams({ query: '{ products(first: 1) { nope } }' })}`;
    for (let i = 0; i < 3; i += 1) {
      const response = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
      expect(response.status).toBe(400);
      expect(response.headers.get('x-cache-status')).not.toBe('HIT');
    }
  });
});
