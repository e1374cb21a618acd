import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { SignJWT, base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedOrders, seedTenants, seedUsers, firstUserOf } from '../subgraphs/shared/seed-data.js';
import { receivedFrom, signedAs, spoofedContextHeaders, spoofedHopHeaders } from './fixtures/spoofing.js';
import { devToken, postGraphQL, rowsAsOwner, startTestStack, type GraphQLResult, type TestStack } from './fixtures/stack.js';
import { callSubgraph } from './fixtures/subgraph-client.js';
import { defineRowLevelSecuritySuite } from './fixtures/row-level-security.js';

// Residency and tenant isolation against a hostile caller (issue 3), on the real PostgreSQL.
// The users subgraph runs with its tenant filter deliberately dropped: row-level security must hold alone.
const secret = 'isolation-suite-current-secret-0123456789';
const previousSecret = 'isolation-suite-previous-secret-0123456789';
const env = { GEOFED_SUBGRAPH_SECRET: secret, GEOFED_SUBGRAPH_SECRET_PREVIOUS: previousSecret };
const tenants = seedTenants.map((tenant) => ({ ...tenant, user: firstUserOf(tenant.id)!, order: seedOrders.find((o) => o.tenantId === tenant.id)! }));
const pairs = tenants.flatMap((tenant) => tenants.filter((other) => other.id !== tenant.id).map((other) => [tenant, other] as const));
const seededPii = seedUsers.flatMap((user) => [user.email, user.name]);

let t: TestStack;
let refused = 0;
/** Every hostile attempt goes through here, so the suite can report how many it tried; whole values, so a failure shows what came back. */
function expectRefused(actual: unknown, expected: unknown, label: string) {
  expect(actual, label).toEqual(expected);
  refused += 1;
}
/** An answer in the terms the cases compare: status, data, error codes, and any seeded PII anywhere in the body. */
const outcome = (result: GraphQLResult) => ({
  status: result.status,
  data: result.body.data,
  codes: (result.body.errors ?? []).map((e) => e.extensions?.code),
  pii: seededPii.filter((value) => JSON.stringify(result.body).includes(value)),
});
const served = (data: unknown) => ({ status: 200, data, codes: [], pii: [] });
const refusedWith = (status: number, code: string, data?: null) => ({ status, data, codes: [code], pii: [] });
const url = (subgraph: string, region: string) => t.stack.subgraph(subgraph, region).url;
const signedFor = (tenant: (typeof tenants)[number], region = tenant.region) => ({ secret, caller: { tenantId: tenant.id, userId: tenant.user.id, roles: [], region } });
const newestOrderOf = (userId: string) => seedOrders.filter((o) => o.userId === userId).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0]!.id;

beforeAll(async () => {
  t = await startTestStack('postgres', { env, testHooks: { forgetTenantFilter: true, reportSession: true, recordCallers: true } });
});
afterAll(async () => {
  await t?.stop();
  console.log(`isolation suite: ${refused} hostile attempts, all refused`);
});

describe('cross-tenant matrix', () => {
  it.each(pairs.map(([a, b]) => [a.id, b.id, a, b] as const))('%s cannot read %s\'s data', async (_a, _b, tenant, other) => {
    const token = await devToken(tenant.id, tenant.user.id);
    const entity = (typename: string, id: string, selection: string) => `{ _entities(representations: [{ __typename: "${typename}", id: "${id}" }]) { ... on ${typename} { ${selection} } } }`;
    const byId = await postGraphQL(t.graphqlUrl, `{ user(id: "${other.user.id}") { email name } }`, { token });
    expectRefused(outcome(byId), served({ user: null }), 'user(id:) of another tenant');

    const userRef = await callSubgraph(url('users', tenant.region), entity('User', other.user.id, 'email name'), signedFor(tenant));
    expectRefused(outcome(userRef), served({ _entities: [null] }), 'signed User reference in own region');

    const orderRef = await callSubgraph(url('orders', tenant.region), entity('Order', other.order.id, 'totalCents'), signedFor(tenant));
    expectRefused(outcome(orderRef), served({ _entities: [null] }), 'signed Order reference in own region');

    const ordersOfOther = await callSubgraph(url('orders', tenant.region), entity('User', other.user.id, 'orders(first: 50) { id }'), signedFor(tenant));
    expectRefused(outcome(ordersOfOther), served({ _entities: [{ orders: [] }] }), 'orders of another tenant\'s user');

    const intoOtherRegion = await callSubgraph(url('users', other.region), entity('User', other.user.id, 'email'), signedFor(tenant));
    expectRefused(outcome(intoOtherRegion), refusedWith(403, 'RESIDENCY_VIOLATION'), 'fetch sent to another region');

    const lyingRegion = await callSubgraph(url('users', other.region), entity('User', other.user.id, 'email'), signedFor(tenant, other.region));
    expectRefused(outcome(lyingRegion), served({ _entities: [null] }), 'signed context claiming the other region');

    // Every context header, claiming the other tenant as admin: the subgraphs must see only what the token says.
    const watchSubgraphs = () => {
      const seen = ['users', 'orders'].flatMap((name) => [tenant.region, other.region].map((region) => [`${name}@${region}`, receivedFrom(t.stack.subgraph(name, region))] as const));
      return () => Object.fromEntries(seen.map(([instance, received]) => [instance, received()]));
    };
    const spoofedContext = spoofedContextHeaders({ tenantId: other.id, userId: other.user.id, region: other.region });
    const received = watchSubgraphs();
    const spoofed = await postGraphQL(t.graphqlUrl, '{ me { email orders(first: 1) { id } } }', { token, headers: spoofedContext });
    const caller = signedAs({ tenantId: tenant.id, userId: tenant.user.id, roles: [], region: tenant.region });
    expectRefused(
      { dataRegion: spoofed.headers.get('x-geofed-data-region'), data: spoofed.body.data, received: received() },
      {
        dataRegion: tenant.region,
        data: { me: { email: tenant.user.email, orders: [{ id: newestOrderOf(tenant.user.id) }] } },
        received: { [`users@${tenant.region}`]: [caller], [`orders@${tenant.region}`]: [caller], [`users@${other.region}`]: [], [`orders@${other.region}`]: [] },
      },
      'client-sent x-geofed headers',
    );

    // The same, claiming to be forwarded by the other region's gateway as well: refused before any subgraph is called.
    const receivedOfHop = watchSubgraphs();
    const hopSpoofed = await postGraphQL(t.graphqlUrl, '{ me { email orders(first: 1) { id } } }', { token, headers: { ...spoofedContext, ...spoofedHopHeaders(other.region) } });
    expectRefused(
      { ...outcome(hopSpoofed), received: receivedOfHop() },
      { ...refusedWith(401, 'GATEWAY_SIGNATURE_REFUSED'), received: { [`users@${tenant.region}`]: [], [`orders@${tenant.region}`]: [], [`users@${other.region}`]: [], [`orders@${other.region}`]: [] } },
      'client-sent x-geofed hop headers',
    );

    const unsignedHeaders = await callSubgraph(url('users', other.region), '{ me { email } }', { headers: { 'x-geofed-tenant': other.id, 'x-geofed-user': other.user.id, 'x-geofed-region': other.region } });
    expectRefused(outcome(unsignedHeaders), refusedWith(401, 'GATEWAY_SIGNATURE_REFUSED'), 'unsigned direct call with forged headers');

    const regionClaim = await new SignJWT({ tenant: tenant.id, region: other.region, jurisdiction: other.region })
      .setProtectedHeader({ alg: 'HS256' }).setSubject(tenant.user.id).setExpirationTime('1h')
      .sign(new TextEncoder().encode('geofed-dev-secret-do-not-use-in-production'));
    const claimed = await postGraphQL(t.graphqlUrl, '{ me { email } }', { token: regionClaim });
    expectRefused({ dataRegion: claimed.headers.get('x-geofed-data-region'), data: claimed.body.data }, { dataRegion: tenant.region, data: { me: { email: tenant.user.email } } }, 'region claim in the token');
  });
});

describe('tokens and signatures', () => {
  const meQuery = '{ me { email } }';
  it.each([
    ['alg none', `${base64url.encode('{"alg":"none"}')}.${base64url.encode(JSON.stringify({ sub: 'usr_acme_1', tenant: 'acme', exp: 4102444800 }))}.`],
    ['wrong key', 'wrong-key'],
    ['expired', 'expired'],
    ['tenant claim of the wrong type', 'number-tenant'],
    ['roles claim of the wrong type', 'string-roles'],
    ['not a JWT', 'not.a.jwt'],
  ])('refuses a token with %s', async (_label, kind) => {
    const key = new TextEncoder().encode(kind === 'wrong-key' ? 'some-other-secret' : 'geofed-dev-secret-do-not-use-in-production');
    const claims = kind === 'number-tenant' ? { tenant: 42 } : kind === 'string-roles' ? { tenant: 'acme', roles: 'admin' } : { tenant: 'acme' };
    const token = ['wrong-key', 'expired', 'number-tenant', 'string-roles'].includes(kind)
      ? await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('usr_acme_1').setExpirationTime(kind === 'expired' ? Math.floor(Date.now() / 1000) - 60 : '1h').sign(key)
      : kind;
    const result = await postGraphQL(t.graphqlUrl, meQuery, { token });
    expectRefused(outcome(result), refusedWith(401, 'UNAUTHENTICATED'), 'bad token');
  });

  it('refuses direct subgraph calls that are unsigned, forged, replayed with another body, or stale', async () => {
    const acme = tenants.find((x) => x.id === 'acme')!;
    const target = url('users', 'eu');
    const cases = [
      await callSubgraph(target, '{ me { email } }'),
      await callSubgraph(target, '{ me { email } }', { ...signedFor(acme), secret: 'a-guessed-secret' }),
      await callSubgraph(target, '{ user(id: "usr_acme_2") { email } }', { ...signedFor(acme), signedBody: JSON.stringify({ query: '{ __typename }' }) }),
      await callSubgraph(target, '{ me { email } }', { ...signedFor(acme), headers: { 'x-geofed-timestamp': String(Math.floor(Date.now() / 1000) - 120) } }),
    ];
    for (const result of cases) expectRefused(outcome(result), refusedWith(401, 'GATEWAY_SIGNATURE_REFUSED'), 'bad signature');
    const rotated = await callSubgraph(target, '{ me { email } }', { ...signedFor(acme), secret: previousSecret });
    expect(rotated.body.data).toEqual({ me: { email: acme.user.email } });
  });
});

defineRowLevelSecuritySuite('postgres', () => t, secret, () => {
  refused += 1;
});

describe('writes and authorization', () => {
  it('writes a profile change and an order only in the tenant\'s region', async () => {
    for (const tenant of tenants) {
      const token = await devToken(tenant.id, seedUsers.filter((u) => u.tenantId === tenant.id)[2]!.id);
      const marker = `Marker ${randomUUID()}`;
      const renamed = await postGraphQL(t.graphqlUrl, `mutation { updateProfile(name: "${marker}") { name } }`, { token });
      expect(renamed.body.data).toEqual({ updateProfile: { name: marker } });
      const placed = await postGraphQL(t.graphqlUrl, 'mutation { placeOrder(items: [{ productId: "prd_05", quantity: 1 }]) { id } }', { token });
      const orderId = (placed.body.data?.placeOrder as { id: string }).id;
      for (const region of ['us', 'eu', 'apac', 'latam']) {
        const names = await rowsAsOwner(t.stack, region, sql`select id from users where name = ${marker}`);
        const orders = await rowsAsOwner(t.stack, region, sql`select id from orders where id = ${orderId}`);
        const items = await rowsAsOwner(t.stack, region, sql`select order_id from order_items where order_id = ${orderId}`);
        const expected = region === tenant.region ? 1 : 0;
        expect([names.length, orders.length, items.length], `${tenant.id} in ${region}`).toEqual([expected, expected, expected]);
      }
    }
  });

  it('refuses a suspended tenant, and upsertProduct to anyone but a platform operator (a tenant\'s admin included)', async () => {
    // A tenant of its own, created suspended: no other test's tenant changes state.
    const hooli = `hooli_${randomUUID().slice(0, 8)}`;
    await rowsAsOwner(t.stack, 'catalog', sql`insert into tenants (id, name, region, plan, status) values (${hooli}, 'Hooli', 'us', 'free', 'suspended')`);
    const suspended = await postGraphQL(t.graphqlUrl, '{ products(first: 1) { id } }', { token: await devToken(hooli, `usr_${hooli}_1`) });
    expectRefused(outcome(suspended), refusedWith(403, 'FORBIDDEN'), 'suspended tenant');
    const mutation = 'mutation { upsertProduct(id: "prd_99", name: "Hoverboard", priceCents: 9900) { id name } }';
    const denied = await postGraphQL(t.graphqlUrl, mutation, { token: await devToken('globex', 'usr_globex_2') });
    expectRefused(outcome(denied), refusedWith(403, 'FORBIDDEN', null), 'upsertProduct without a role');
    const tenantAdmin = await postGraphQL(t.graphqlUrl, mutation, { token: await devToken('globex', 'usr_globex_2', { roles: ['admin'] }) });
    expectRefused(outcome(tenantAdmin), refusedWith(403, 'FORBIDDEN', null), 'upsertProduct by a tenant\'s admin');
    const allowed = await postGraphQL(t.graphqlUrl, mutation, { token: await devToken('globex', 'usr_globex_2', { roles: ['platform-operator'] }) });
    expect(allowed.body.data).toEqual({ upsertProduct: { id: 'prd_99', name: 'Hoverboard' } });
  });
});
