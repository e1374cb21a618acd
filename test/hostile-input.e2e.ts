import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedHeaders } from '../protocol/signed-context.js';
import { auditLogger, copyLogLines } from '../runtime/logger.js';
import { firstUserOf } from '../subgraphs/index.js';
import { metricValue } from './fixtures/metrics.js';
import { devToken, postGraphQL, rowsAsOwner, startTestStack, type GraphQLResult, type TestStack } from './fixtures/stack.js';

// What an attacker sends a production gateway (NODE_ENV=production, secrets of its own, PostgreSQL), class by
// class: claims that cannot travel in a header, input that used to end in a 500, schema probing, replays.
const env = {
  NODE_ENV: 'production',
  GEOFED_JWT_SECRET: 'hostile-suite-jwt-secret-0123456789abcdef',
  GEOFED_SUBGRAPH_SECRET: 'hostile-suite-subgraph-secret-0123456789',
  GEOFED_GATEWAY_HOP_SECRET: 'hostile-suite-hop-secret-0123456789abcdef',
};
let t: TestStack;
const token = (tenantId: string, roles: string[] = []) => devToken(tenantId, firstUserOf(tenantId)!.id, { env, roles });
const jwt = (claims: Record<string, unknown>, { sub = 'usr_acme_1', lifetime = '1h' as string | number | null } = {}) => {
  const signed = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt();
  return (lifetime === null ? signed : signed.setExpirationTime(lifetime)).sign(new TextEncoder().encode(env.GEOFED_JWT_SECRET));
};
const outcome = (result: GraphQLResult) => ({ status: result.status, code: result.body.errors?.[0]?.extensions?.code ?? null });
const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as GraphQLResult['body'],
  }));

beforeAll(async () => {
  t = await startTestStack('postgres', { env });
});
afterAll(async () => {
  await t?.stop();
});

describe('claims are checked where they enter', () => {
  it.each([
    ['a sub with CR/LF', () => jwt({ tenant: 'acme' }, { sub: 'usr_acme_1\r\nx-geofed-roles: admin' }), /"sub" claim/],
    ['a sub outside Latin-1', () => jwt({ tenant: 'acme' }, { sub: 'usr_☃' }), /"sub" claim/],
    ['a tenant with a NUL', () => jwt({ tenant: 'ac\u0000me' }), /"tenant" claim/],
    ['a role with a NUL', () => jwt({ tenant: 'acme', roles: ['admin\u0000'] }), /"roles" claim/],
    ['a role with a comma', () => jwt({ tenant: 'acme', roles: ['viewer,platform-operator'] }), /"roles" claim/],
    ['a role with a space', () => jwt({ tenant: 'acme', roles: ['platform operator'] }), /"roles" claim/],
    ['no exp', () => jwt({ tenant: 'acme' }, { lifetime: null }), /"exp" claim/],
    ['a lifetime over the maximum', () => jwt({ tenant: 'acme' }, { lifetime: '3d' }), /auth\.max_token_lifetime_seconds/],
  ])('refuses %s with 401 UNAUTHENTICATED, naming it, and no subgraph is called', async (_case, make, message) => {
    const fetchesBefore = await metricValue(t.stack.gateway.url, 'geofed_subgraph_fetch_duration_seconds_count{subgraph="users",region="eu",outcome="error"}');
    const result = await postGraphQL(t.graphqlUrl, '{ me { name } }', { token: await make() });
    expect(outcome(result)).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    expect(result.body.errors?.[0]?.message).toMatch(message);
    expect(await metricValue(t.stack.gateway.url, 'geofed_subgraph_fetch_duration_seconds_count{subgraph="users",region="eu",outcome="error"}')).toBe(fetchesBefore);
  });

  it('never turns a role "viewer,platform-operator" into a platform operator', async () => {
    const mutation = `mutation { upsertProduct(id: "prd_hostile_${randomUUID().slice(0, 6)}", name: "Pwned", priceCents: 1) { id } }`;
    const result = await postGraphQL(t.graphqlUrl, mutation, { token: await jwt({ tenant: 'globex', roles: ['viewer,platform-operator'] }, { sub: 'usr_globex_1' }) });
    expect(outcome(result)).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await rowsAsOwner(t.stack, 'catalog', sql`select id from products where name = 'Pwned'`)).toEqual([]);
  });
});

describe('no 500 for bad input', () => {
  it.each([
    ['a NUL in a literal, anonymous', { query: '{ product(id: "a\\u0000b") { id } }' }, false, 400, 'BAD_USER_INPUT'],
    ['a NUL in a variable, anonymous', { query: 'query P($id: ID!) { product(id: $id) { id } }', variables: { id: 'a\u0000b' } }, false, 400, 'BAD_USER_INPUT'],
    ['a NUL in a signed-in mutation', { query: 'mutation { updateProfile(name: "a\\u0000") { id } }' }, true, 400, 'BAD_USER_INPUT'],
    ['a NUL in a nested input', { query: 'mutation O($items: [OrderItemInput!]!) { placeOrder(items: $items) { id } }', variables: { items: [{ productId: 'prd_01\u0000', quantity: 1 }] } }, true, 400, 'BAD_USER_INPUT'],
    ['operationName ""', { query: '{ products(first: 1) { id } }', operationName: '' }, false, 400, 'OPERATION_RESOLUTION_FAILURE'],
    ['an unknown operation name', { query: 'query A { products(first: 1) { id } }', operationName: 'B' }, false, 400, 'OPERATION_RESOLUTION_FAILURE'],
    ['several operations without a name', { query: 'query A { products(first: 1) { id } } query B { products(first: 1) { id } }' }, false, 400, 'OPERATION_RESOLUTION_FAILURE'],
    ['a subscription', { query: 'subscription { products { id } }' }, false, 400, 'GRAPHQL_VALIDATION_FAILED'],
    ['a persisted query of version 2', { extensions: { persistedQuery: { version: 2, sha256Hash: 'a'.repeat(64) } } }, false, 400, 'BAD_REQUEST'],
    ['a persisted-query hash that does not match', { query: '{ products(first: 1) { id } }', extensions: { persistedQuery: { version: 1, sha256Hash: 'ab' } } }, false, 400, 'BAD_REQUEST'],
    ['a price of 2^31−1', { query: 'mutation { upsertProduct(name: "Big", priceCents: 2147483647) { id } }' }, 'operator', 400, 'BAD_USER_INPUT'],
  ] as const)('%s is a 4xx with its code', async (_case, body, signedIn, status, code) => {
    const headers: Record<string, string> = signedIn ? { authorization: `Bearer ${await token(signedIn === 'operator' ? 'globex' : 'acme', signedIn === 'operator' ? ['platform-operator'] : [])}` } : {};
    const result = await post(body, headers);
    expect({ status: result.status, code: result.body.errors?.[0]?.extensions?.code }).toEqual({ status, code });
  });

  it('refuses an order whose total would overflow a 32-bit Int', async () => {
    const id = `prd_dear_${randomUUID().slice(0, 6)}`;
    const operator = await token('globex', ['platform-operator']);
    expect((await postGraphQL(t.graphqlUrl, `mutation { upsertProduct(id: "${id}", name: "Dear", priceCents: 10000000) { id } }`, { token: operator })).body.errors).toBeUndefined();
    const order = await postGraphQL(t.graphqlUrl, `mutation { placeOrder(items: [{ productId: "${id}", quantity: 1000 }]) { totalCents } }`, { token: await token('umbrella') });
    expect(outcome(order)).toEqual({ status: 400, code: 'BAD_USER_INPUT' });
    expect(order.body.errors?.[0]?.message).toMatch(/over the 2147483647/);
  });
});

describe('production hides the schema', () => {
  it('has no "Did you mean" in validation or variable coercion errors, and names no subgraph', async () => {
    const typo = await postGraphQL(t.graphqlUrl, '{ products(first: 1) { nmae } }');
    const coercion = await postGraphQL(t.graphqlUrl, 'mutation O($items: [OrderItemInput!]!) { placeOrder(items: $items) { id } }', { token: await token('acme'), variables: { items: [{ productID: 'prd_01', quantity: 1 }] } });
    const fromSubgraph = await postGraphQL(t.graphqlUrl, '{ me { orders(first: 500) { id } } }', { token: await token('acme') });
    for (const result of [typo, coercion]) expect({ status: result.status, suggests: /Did you mean/.test(JSON.stringify(result.body)) }).toEqual({ status: 400, suggests: false });
    expect(fromSubgraph.body.errors?.[0]).toEqual({ message: '`first` must be between 0 and 100, got 500.', path: ['me', 'orders'], extensions: { code: 'BAD_USER_INPUT' } });
  });
});

describe('logs carry no client values', () => {
  it('bounds the operation name an audit line carries', async () => {
    const lines: string[] = [];
    const level = auditLogger.level;
    auditLogger.level = 'info';
    const stop = copyLogLines((line) => lines.push(line));
    try {
      const name = `Q${'x'.repeat(200_000)}`;
      expect((await postGraphQL(t.graphqlUrl, `query ${name} { me { name } }`, { token: await token('acme') })).status).toBe(200);
    } finally {
      stop();
      auditLogger.level = level;
    }
    const audits = lines.map((line) => JSON.parse(line) as { event?: string; operation?: string; operation_truncated?: boolean }).filter((entry) => entry.event === 'regional_fetch');
    expect(audits.map((a) => [a.operation?.length, a.operation_truncated])).toEqual([[100, true]]);
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThan(2_000);
  });
});

describe('subgraphs verify before they parse, and run a signed request once', () => {
  const users = () => t.stack.subgraph('users', 'latam').url;

  it('answers an unsigned request with a body that is not JSON with 401, not a parse error', async () => {
    const response = await fetch(users(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect({ status: response.status, code: ((await response.json()) as GraphQLResult['body']).errors?.[0]?.extensions?.code }).toEqual({ status: 401, code: 'GATEWAY_SIGNATURE_REFUSED' });
  });

  it('runs a captured signed mutation once, refusing its replay within the window', async () => {
    const marker = `Replay ${randomUUID().slice(0, 8)}`;
    const body = JSON.stringify({ query: `mutation { updateProfile(name: "${marker}") { name } }` });
    const headers = { 'content-type': 'application/json', ...signedHeaders(env.GEOFED_SUBGRAPH_SECRET, { method: 'POST', url: users(), body }, { tenantId: 'umbrella', userId: 'usr_umbrella_2', roles: [], region: 'latam' }) };
    const first = await fetch(users(), { method: 'POST', headers, body });
    const replay = await fetch(users(), { method: 'POST', headers, body });
    expect([first.status, replay.status]).toEqual([200, 401]);
    expect(((await replay.json()) as GraphQLResult['body']).errors?.[0]?.message).toMatch(/received before/);
  });
});
