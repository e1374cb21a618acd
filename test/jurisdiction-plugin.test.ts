import { ApolloServer, type GraphQLResponse } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError } from 'graphql';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FieldOwnership, ScopeOf } from '../plugins/field-ownership.js';
import { jurisdictionPlugin, type JurisdictionContext } from '../plugins/jurisdiction.js';

// A global catalog (products) and a regional users subgraph (me); User.id is resolvable by both.
const typeDefs = /* GraphQL */ `
  type Product { id: ID! name: String! }
  type User { id: ID! email: String! }
  type Query { products: [Product!]! me: User }
`;
const owners: Record<string, string[]> = {
  'Query.products': ['catalog'],
  'Product.id': ['catalog'],
  'Product.name': ['catalog'],
  'Query.me': ['users'],
  'User.id': ['users', 'catalog'],
  'User.email': ['users'],
};
const ownership: FieldOwnership = { subgraphsOf: (type, field) => owners[`${type}.${field}`] ?? [] };
const scopeOf: ScopeOf = (subgraph) => ({ catalog: 'global', users: 'regional' } as const)[subgraph];

const resolvers = {
  products: vi.fn(() => [{ id: 'p1', name: 'Lamp' }]),
  me: vi.fn((): { id: string; email: string } => ({ id: 'u1', email: 'ada@example.com' })),
};
const registry = new Registry();

let server: ApolloServer<JurisdictionContext>;
beforeAll(async () => {
  server = new ApolloServer<JurisdictionContext>({
    typeDefs,
    resolvers: { Query: resolvers },
    plugins: [ApolloServerPluginCacheControlDisabled(), jurisdictionPlugin({ ownership: () => ownership, scopeOf, registry })],
  });
  await server.start();
});
afterAll(async () => {
  await server.stop();
});

const anonymous: JurisdictionContext = { caller: null, dataRegions: new Set(), globalRegions: new Set() };
const tenant: JurisdictionContext = { caller: { region: 'eu' }, dataRegions: new Set(), globalRegions: new Set() };

async function run(query: string, contextValue: JurisdictionContext) {
  resolvers.products.mockClear();
  resolvers.me.mockClear();
  const response: GraphQLResponse = await server.executeOperation({ query }, { contextValue });
  return {
    status: response.http.status,
    headers: Object.fromEntries(response.http.headers),
    result: response.body.kind === 'single' ? response.body.singleResult : response.body,
    resolved: { products: resolvers.products.mock.calls.length, me: resolvers.me.mock.calls.length },
  };
}

const refused = {
  status: 401,
  headers: {},
  result: { errors: [{ message: 'This operation reads personal data: send "Authorization: Bearer <token>".', extensions: { code: 'UNAUTHENTICATED' } }] },
  resolved: { products: 0, me: 0 },
};

describe('jurisdictionPlugin', () => {
  it('refuses an anonymous operation that selects a regional-only field before any resolver runs', async () => {
    expect(await run('{ products { id } me { id } }', anonymous)).toEqual(refused);
    expect(await run('query Q { ...Me } fragment Me on Query { who: me { email } }', anonymous)).toEqual(refused);
  });

  it('serves an anonymous operation on global fields', async () => {
    expect(await run('{ products { id name } __typename }', anonymous)).toEqual({
      status: undefined,
      headers: {},
      result: { data: { products: [{ id: 'p1', name: 'Lamp' }], __typename: 'Query' } },
      resolved: { products: 1, me: 0 },
    });
  });

  it('serves a regional field to an authenticated caller', async () => {
    expect(await run('{ me { id email } }', tenant)).toEqual({
      status: undefined,
      headers: {},
      result: { data: { me: { id: 'u1', email: 'ada@example.com' } } },
      resolved: { products: 0, me: 1 },
    });
  });

  it('names the regions whose data served the response', async () => {
    const served = await run('{ me { id } }', { caller: { region: 'eu' }, dataRegions: new Set(['eu', 'us']), globalRegions: new Set(['apac']) });
    expect(served.headers).toEqual({ 'x-geofed-data-region': 'eu, us', 'x-geofed-global-region': 'apac' });
  });

  it('keeps deciding per operation when Apollo reuses a parsed document', async () => {
    const query = '{ me { id } }';
    expect((await run(query, tenant)).status).toEqual(undefined);
    expect(await run(query, anonymous)).toEqual(refused);
  });

  it('counts each residency refusal of a response once per reason, by the caller\'s home region', async () => {
    const refusals = async () => Object.fromEntries((await registry.getSingleMetric('geofed_residency_refusals_total')!.get()).values.map((v) => [`${v.labels.region}/${v.labels.reason}`, v.value]));
    const before = await refusals();
    await run('{ me { id } }', anonymous);
    resolvers.me.mockImplementationOnce(() => {
      throw new GraphQLError('This users instance serves region "us" only', { extensions: { code: 'RESIDENCY_VIOLATION' } });
    });
    await run('{ me { id } }', tenant);
    resolvers.me.mockImplementationOnce(() => {
      throw new GraphQLError('The tenant\'s home region (eu) cannot be reached', { extensions: { code: 'REGION_UNAVAILABLE' } });
    });
    await run('{ me { id } a: me { id } }', tenant);
    await run('{ me { id } }', tenant);
    const delta = Object.fromEntries(Object.entries(await refusals()).map(([key, value]) => [key, value - (before[key] ?? 0)]));
    expect(delta).toEqual({ 'anonymous/anonymous': 1, 'eu/violation': 1, 'eu/home_unavailable': 1 });
  });
});
