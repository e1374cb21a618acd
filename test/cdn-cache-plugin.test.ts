import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import { GraphQLError } from 'graphql';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdnCachePlugin, type CdnCacheContext } from '../plugins/cdn-cache.js';
import { rateLimitHeaders } from '../plugins/rate-limit/headers.js';

// Global: products, product, banner, Product.*; regional: me. Product.supplierEmail is tagged pii.
const typeDefs = /* GraphQL */ `
  type Product { id: ID! name: String! supplierEmail: String! }
  type User { id: ID! }
  type Query { products: [Product!]! product(id: ID!): Product banner: String me: User }
`;
const regional = new Set(['Query.me', 'User.id']);
const maxAge = { 'Query.products': 60, Product: 30, 'Query.banner': 300 };
const registry = new Registry();

/** As the rate-limit plugin does before it, on a request that sends `x-test-budget`: every RateLimit field. */
const budgetHeaders = rateLimitHeaders([{ policy: 'us', capacity: 2000, refillPerSecond: 100, remaining: 1990, resetSeconds: 1 }]);
const rateLimited: ApolloServerPlugin<CdnCacheContext> = {
  async requestDidStart({ request }) {
    return {
      async willSendResponse({ response }) {
        if (request.http?.headers.has('x-test-budget')) for (const [name, value] of Object.entries(budgetHeaders)) response.http.headers.set(name, value);
      },
    };
  },
};

let server: ApolloServer<CdnCacheContext>;
beforeAll(async () => {
  server = new ApolloServer<CdnCacheContext>({
    typeDefs,
    resolvers: {
      Query: {
        products: () => [{ id: 'p1', name: 'Lamp', supplierEmail: 'sales@example.com' }],
        product: (_: unknown, { id }: { id: string }) => ({ id, name: 'Desk', supplierEmail: 'sales@example.com' }),
        banner: () => {
          throw new GraphQLError('no banner today');
        },
        me: () => ({ id: 'u1' }),
      },
    },
    plugins: [
      // As in the gateway: hints gathered, Cache-Control written by cdnCachePlugin alone.
      ApolloServerPluginCacheControl({ calculateHttpHeaders: false }),
      rateLimited,
      cdnCachePlugin({ maxAge, isGlobal: () => (type, field) => !regional.has(`${type}.${field}`), piiFields: () => new Set(['Product.supplierEmail']), registry }),
    ],
  });
  await server.start();
});
afterAll(async () => {
  await server.stop();
});

interface Request {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly dataRegions?: string[];
}

async function run(query: string, { method = 'GET', headers = {}, dataRegions = [] }: Request = {}) {
  const http = { method, headers: new HeaderMap(Object.entries(headers)), search: '', body: undefined };
  const response = await server.executeOperation({ query, http }, { contextValue: { dataRegions: new Set(dataRegions) } });
  return { status: response.http.status, headers: Object.fromEntries(response.http.headers) };
}

const etag = expect.stringMatching(/^"[A-Za-z0-9_-]{27}"$/);
const vary = 'Authorization, Origin';

describe('cdnCachePlugin', () => {
  it('makes an anonymous GET of hinted global fields public for the smallest hint, with an ETag', async () => {
    expect(await run('{ products { id name } }')).toEqual({ status: undefined, headers: { vary, 'cache-control': 'public, max-age=0, s-maxage=30', etag } });
    expect((await run('{ list: products { id } }')).headers['cache-control']).toEqual('public, max-age=0, s-maxage=30');
  });

  it('gives the same response the same ETag and another response another', async () => {
    const first = (await run('{ products { id name } }')).headers.etag;
    expect((await run('{ products { id name } }')).headers.etag).toEqual(first);
    expect((await run('{ products { id } }')).headers.etag).not.toEqual(first);
  });

  it('answers 304 to a matching If-None-Match, and the full response to a stale one', async () => {
    const { headers } = await run('{ products { name } }');
    expect(await run('{ products { name } }', { headers: { 'if-none-match': headers.etag! } })).toEqual({ status: 304, headers });
    expect((await run('{ products { name } }', { headers: { 'if-none-match': '"stale"' } })).status).toEqual(undefined);
  });

  it('keeps anything personal out of shared caches: a token, a regional fetch, a pii field', async () => {
    const personal = { status: undefined, headers: { vary, 'cache-control': 'private, no-store' } };
    expect(await run('{ products { id } }', { headers: { authorization: 'Bearer t' } })).toEqual(personal);
    expect(await run('{ products { id } }', { dataRegions: ['eu'] })).toEqual(personal);
    expect(await run('{ products { id supplierEmail } }')).toEqual(personal);
    expect(await run('{ products { id supplierEmail } }', { method: 'POST' })).toEqual(personal);
  });

  it('stores nothing for a POST, an unhinted or regional field, an error, or no HTTP request', async () => {
    const uncached = { status: undefined, headers: { vary, 'cache-control': 'no-store' } };
    expect(await run('{ products { id } }', { method: 'POST' })).toEqual(uncached);
    expect(await run('{ product(id: "p1") { id } }')).toEqual(uncached);
    expect(await run('{ products { id } me { id } }')).toEqual(uncached);
    expect(await run('{ banner }')).toEqual(uncached);
    expect(await run('{ products { nope } }')).toEqual({ ...uncached, status: 400 });
    const withoutHttp = await server.executeOperation({ query: '{ products { id } }' }, { contextValue: { dataRegions: new Set() } });
    expect(Object.fromEntries(withoutHttp.http.headers)).toEqual(uncached.headers);
  });

  it('drops every RateLimit field from a public response, and keeps them on any other', async () => {
    const budget = { 'x-test-budget': '1' };
    expect(await run('{ products { id name } }', { headers: budget })).toEqual({ status: undefined, headers: { vary, 'cache-control': 'public, max-age=0, s-maxage=30', etag } });
    expect(await run('{ products { id } }', { method: 'POST', headers: budget })).toEqual({ status: undefined, headers: { vary, 'cache-control': 'no-store', ...budgetHeaders } });
    expect(await run('{ products { id } }', { headers: { ...budget, authorization: 'Bearer t' } })).toEqual({ status: undefined, headers: { vary, 'cache-control': 'private, no-store', ...budgetHeaders } });
  });

  it('counts responses by Cache-Control class and revalidations by whether the cached copy held', async () => {
    const counts = async () => {
      const read = async (name: string) => (await registry.getSingleMetric(name)!.get()).values.map((v) => [Object.values(v.labels).join(), v.value] as const);
      return Object.fromEntries([...(await read('geofed_cdn_responses_total')), ...(await read('geofed_cdn_revalidations_total'))]);
    };
    const before = await counts();
    const { headers } = await run('{ products { name } }');
    await run('{ products { name } }', { headers: { 'if-none-match': headers.etag! } });
    await run('{ products { name } }', { headers: { 'if-none-match': '"stale"' } });
    await run('{ products { id } }', { method: 'POST' });
    await run('{ products { id } }', { headers: { authorization: 'Bearer t' } });
    const delta = Object.fromEntries(Object.entries(await counts()).map(([key, value]) => [key, value - (before[key] ?? 0)]));
    expect(delta).toEqual({ public: 3, 'no-store': 1, private: 1, hit: 1, miss: 1 });
  });
});
