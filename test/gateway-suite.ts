import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedOrders, seedProducts, seedTenants, seedUsers, firstUserOf } from '../subgraphs/shared/seed-data.js';
import { devToken, postGraphQL, startTestStack, type Driver, type TestStack } from './fixtures/stack.js';

const meQuery = /* GraphQL */ `
  query Me { me { name email orders { totalCents items { quantity product { name priceCents } } } } }
`;

/** What `meQuery` must return for a seeded user: its newest 10 orders, with catalog data joined in. */
function expectedMe(userId: string) {
  const user = seedUsers.find((u) => u.id === userId)!;
  const productById = new Map(seedProducts.map((p) => [p.id, p]));
  const orders = seedOrders
    .filter((order) => order.userId === userId)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
    .slice(0, 10)
    .map((order) => ({
      totalCents: order.totalCents,
      items: order.items.map((item) => ({ quantity: item.quantity, product: { name: productById.get(item.productId)!.name, priceCents: productById.get(item.productId)!.priceCents } })),
    }));
  return { me: { name: user.name, email: user.email, orders } };
}

/** The end-to-end suite of issue 2, run against one storage driver. */
export function defineGatewaySuite(driver: Driver): void {
  describe(`gateway over real subgraphs on ${driver}`, () => {
    let t: TestStack;
    beforeAll(async () => {
      t = await startTestStack(driver);
    });
    afterAll(async () => {
      await t?.stop();
    });

    const regionalCounts = () =>
      new Map(t.stack.subgraphs.filter((s) => s.name !== 'catalog').map((s) => [`${s.name}@${s.region}`, s.requestCount()]));

    it.each(seedTenants.map((tenant) => [tenant.id, tenant.region]))('serves %s only from its region (%s)', async (tenantId, region) => {
      const user = firstUserOf(tenantId)!;
      const before = regionalCounts();
      const result = await postGraphQL(t.graphqlUrl, meQuery, { token: await devToken(tenantId, user.id) });
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data).toEqual(expectedMe(user.id));
      expect(result.status).toBe(200);
      expect(result.headers.get('x-geofed-data-region')).toBe(region);
      expect(result.headers.get('x-geofed-gateway-region')).toBe('us');
      const after = regionalCounts();
      for (const [instance, count] of after) {
        const delta = count - before.get(instance)!;
        if (instance.endsWith(`@${region}`)) expect(delta, instance).toBeGreaterThan(0);
        else expect(delta, instance).toBe(0);
      }
    });

    it('ignores x-geofed-* headers sent by a client', async () => {
      const result = await postGraphQL(t.graphqlUrl, '{ me { email } }', {
        token: await devToken('acme', 'usr_acme_2'),
        headers: { 'x-geofed-tenant': 'globex', 'x-geofed-user': 'usr_globex_1', 'x-geofed-region': 'us' },
      });
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data).toEqual({ me: { email: 'bruno.keller@acme.example' } });
      expect(result.headers.get('x-geofed-data-region')).toBe('eu');
    });

    it('serves public products to anonymous callers, by POST and GET', async () => {
      const post = await postGraphQL(t.graphqlUrl, '{ products(first: 3) { id name } }');
      expect(post.body.errors).toBeUndefined();
      expect(post.body.data).toEqual({ products: seedProducts.slice(0, 3).map(({ id, name }) => ({ id, name })) });
      expect(post.headers.get('x-geofed-data-region')).toBeNull();
      const get = await fetch(`${t.graphqlUrl}?query=${encodeURIComponent('{ products(first: 1) { id } }')}`, { headers: { 'apollo-require-preflight': 'true' } });
      expect(get.status).toBe(200);
      expect(await get.json()).toMatchObject({ data: { products: [{ id: 'prd_01' }] }, extensions: { cost: { estimated: 1, actual: 1 } } });
    });

    it('refuses anonymous personal data with UNAUTHENTICATED before any regional fetch', async () => {
      const before = regionalCounts();
      const result = await postGraphQL(t.graphqlUrl, '{ products(first: 1) { id } me { name } }');
      expect(result.status).toBe(401);
      expect(result.body.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
      expect(result.body.data).toBeUndefined();
      expect(regionalCounts()).toEqual(before);
    });

    it('refuses bad, expired and foreign-signed tokens with 401, and unknown tenants with 403', async () => {
      const forged = await new SignJWT({ tenant: 'acme' }).setProtectedHeader({ alg: 'HS256' }).setSubject('usr_acme_1').setExpirationTime('1h').sign(new TextEncoder().encode('not-the-secret'));
      const expired = await devToken('acme', 'usr_acme_1', { expiresIn: Math.floor(Date.now() / 1000) - 60 });
      for (const token of [forged, expired, 'not-a-jwt']) {
        const result = await postGraphQL(t.graphqlUrl, '{ products(first: 1) { id } }', { token });
        expect(result.status, token).toBe(401);
        expect(result.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      }
      const unknown = await postGraphQL(t.graphqlUrl, meQuery, { token: await devToken('nope', 'usr_nope_1') });
      expect(unknown.status).toBe(403);
      expect(unknown.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    });

    it('resolves the products of 20 orders in one catalog query, and their items in one orders query', async () => {
      const token = await devToken('acme', 'usr_acme_1');
      const query = '{ me { orders(first: 20) { id items { product { name } } } } }';
      await postGraphQL(t.graphqlUrl, query, { token });
      t.clearQueries();
      const result = await postGraphQL(t.graphqlUrl, query, { token });
      const orders = (result.body.data?.me as { orders: { items: unknown[] }[] }).orders;
      expect(orders).toHaveLength(20);
      expect(orders.flatMap((o) => o.items).length).toBeGreaterThanOrEqual(60);
      const productQueries = (t.queries.get('catalog') ?? []).filter((sql) => sql.includes('"products"'));
      expect(productQueries).toHaveLength(1);
      const itemQueries = (t.queries.get('eu') ?? []).filter((sql) => sql.includes('"order_items"'));
      expect(itemQueries).toHaveLength(1);
    });

    it('returns null for another tenant\'s user', async () => {
      const result = await postGraphQL(t.graphqlUrl, '{ user(id: "usr_globex_1") { name } }', { token: await devToken('acme', 'usr_acme_1') });
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data).toEqual({ user: null });
    });

    it('writes a profile change and an order in the tenant\'s region', async () => {
      const token = await devToken('umbrella', 'usr_umbrella_3');
      const renamed = await postGraphQL(t.graphqlUrl, 'mutation { updateProfile(name: "Alice Marker-7") { name } }', { token });
      expect(renamed.body.errors).toBeUndefined();
      expect(renamed.body.data).toEqual({ updateProfile: { name: 'Alice Marker-7' } });
      expect(renamed.headers.get('x-geofed-data-region')).toBe('latam');
      const placed = await postGraphQL(t.graphqlUrl, 'mutation { placeOrder(items: [{ productId: "prd_02", quantity: 3 }]) { status totalCents items { quantity product { id } } } }', { token });
      expect(placed.body.errors).toBeUndefined();
      expect(placed.body.data).toEqual({ placeOrder: { status: 'placed', totalCents: 3 * seedProducts[1]!.priceCents, items: [{ quantity: 3, product: { id: 'prd_02' } }] } });
      const me = await postGraphQL(t.graphqlUrl, '{ me { name orders(first: 1) { totalCents } } }', { token });
      expect(me.body.errors).toBeUndefined();
      expect(me.body.data).toEqual({ me: { name: 'Alice Marker-7', orders: [{ totalCents: 3 * seedProducts[1]!.priceCents }] } });
    });

    it('answers a catalog write with a consistency token that later reads accept', async () => {
      const admin = await devToken('globex', 'usr_globex_1', { roles: ['admin'] });
      const write = await postGraphQL(t.graphqlUrl, 'mutation { upsertProduct(id: "prd_24", name: "Red Stapler", priceCents: 1500) { priceCents } }', { token: admin });
      expect(write.body.data).toEqual({ upsertProduct: { priceCents: 1500 } });
      const token = write.headers.get('geofed-consistency');
      expect(token).toMatch(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/);
      expect((write.body as { extensions?: { consistency?: string } }).extensions?.consistency).toBe(token);
      const read = await postGraphQL(t.graphqlUrl, '{ product(id: "prd_24") { priceCents } }', { headers: { 'geofed-consistency': token! } });
      expect(read.body.errors).toBeUndefined();
      expect(read.body.data).toEqual({ product: { priceCents: 1500 } });
      expect(read.headers.get('geofed-consistency')).toBeNull();
    });

    it('answers a malformed JSON body with 400 BAD_REQUEST', async () => {
      const response = await fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_REQUEST');
    });

    it('reports readiness and Prometheus metrics by region and subgraph', async () => {
      const ready = await fetch(`${t.stack.gateway.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', region: 'us', subgraphs: { catalog: 'up', users: 'up', orders: 'up' }, supergraph: { version: expect.stringMatching(/^[0-9a-f]{12}$/) } });
      const metrics = await (await fetch(`${t.stack.gateway.url}/metrics`)).text();
      expect(metrics).toMatch(/geofed_http_requests_total\{status="200",region="eu"\} [1-9]/);
      expect(metrics).toMatch(/geofed_subgraph_fetch_duration_seconds_count\{subgraph="orders",region="apac",outcome="ok"\} [1-9]/);
      expect((await fetch(`${t.stack.gateway.url}/healthz`)).status).toBe(200);
    });
  });
}
