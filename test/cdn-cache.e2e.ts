import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devToken, startTestStack, type TestStack } from './fixtures/stack.js';

// Cache-Control decided from what the operation touches, talking to the gateway directly.
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack('postgres', {
    configure: (config) => ({
      ...config,
      cors: { allowedOrigins: ['https://shop.example'] },
      // Product's hints field by field, leaving out currency: the one global, anonymous field without a hint
      // (supergraph.yaml's type-level hint covers every Product field, and Tenant needs a caller).
      cacheControl: { maxAge: { 'Query.products': 60, 'Query.product': 60, 'Product.id': 300, 'Product.name': 300, 'Product.priceCents': 300 } },
    }),
  });
});
afterAll(async () => {
  await t?.stop();
});

const preflight = { 'apollo-require-preflight': 'true' };
function get(query: string, headers: Record<string, string> = {}, extensions?: unknown) {
  const params = new URLSearchParams(extensions ? { extensions: JSON.stringify(extensions) } : { query });
  if (extensions) params.set('query', query);
  return fetch(`${t.graphqlUrl}?${params}`, { headers: { ...preflight, ...headers } });
}

describe('Cache-Control by what the operation touches', () => {
  it('makes an anonymous GET of public global fields cacheable for the smallest hint, with an ETag and 304', async () => {
    const response = await get('{ products(first: 2) { id name } product(id: "prd_01") { priceCents } }');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=0, s-maxage=60');
    expect(response.headers.get('vary')).toMatch(/Authorization/);
    const etag = response.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await get('{ products(first: 2) { id name } product(id: "prd_01") { priceCents } }', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
  });

  it('keeps personal, authenticated, POSTed and failed responses out of shared caches', async () => {
    const token = await devToken('acme', 'usr_acme_1');
    expect((await get('{ products(first: 1) { id } }', { authorization: `Bearer ${token}` })).headers.get('cache-control')).toBe('private, no-store');
    expect((await get('{ me { name } }', { authorization: `Bearer ${token}` })).headers.get('cache-control')).toBe('private, no-store');
    const post = await fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ products(first: 1) { id } }' }) });
    expect(post.headers.get('cache-control')).toBe('no-store');
    const failed = await get('{ products(first: 1) { nope } }');
    expect(failed.status).toBe(400);
    expect(failed.headers.get('cache-control')).toBe('no-store');
  });

  it('keeps a successful anonymous GET out of shared caches when one of its fields has no hint', async () => {
    const noHint = await get('{ products(first: 1) { id currency } }');
    expect(noHint.status).toBe(200);
    expect(await noHint.json()).toEqual({ data: { products: [{ id: 'prd_01', currency: 'USD' }] }, extensions: { cost: { estimated: 1, actual: 1 } } });
    expect(noHint.headers.get('cache-control')).toBe('no-store');
    expect(noHint.headers.get('etag')).toBeNull();
  });

  it('answers an APQ miss with no-store, not Apollo\'s own header', async () => {
    const query = '{ products(first: 3) { id } }';
    const hash = createHash('sha256').update(query).digest('hex');
    const miss = await fetch(`${t.graphqlUrl}?${new URLSearchParams({ extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: hash } }) })}`, { headers: preflight });
    expect(((await miss.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(miss.headers.get('cache-control')).toBe('no-store');
  });

  it('answers CORS preflights for allowed origins only', async () => {
    const allowed = await fetch(t.graphqlUrl, { method: 'OPTIONS', headers: { origin: 'https://shop.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'apollo-require-preflight' } });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/apollo-require-preflight/);
    const denied = await fetch(t.graphqlUrl, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await get('{ products(first: 1) { id } }', { origin: 'https://shop.example' });
    expect(simple.headers.get('access-control-allow-origin')).toBe('https://shop.example');
  });
});
