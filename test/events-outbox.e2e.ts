import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogOutbox, products } from '../subgraphs/catalog/db/schema.js';
import type { Database } from '../subgraphs/shared/db.js';
import { recordEvent } from '../subgraphs/shared/outbox.js';
import { devToken, postGraphQL, rowsAsOwner, startTestStack, type Driver, type TestStack } from './fixtures/stack.js';

// Issue 17, "Transactional outbox": every change others must learn of writes its event in the transaction of
// the change, in the database of the change, on PGlite and on PostgreSQL.
interface OutboxRow { id: string; type: string; data_class: string; region: string | null; tenant_id: string | null; entity: string; data: Record<string, unknown> }

const regions = ['us', 'eu', 'apac', 'latam'];
const outboxOf = (t: TestStack, database: string) => rowsAsOwner<OutboxRow>(t.stack, database, sql`select id, type, data_class, region, tenant_id, entity, data from outbox order by seq`);

describe.each<Driver>(['pglite', 'postgres'])('the outbox on %s', (driver) => {
  let t: TestStack;
  beforeAll(async () => {
    t = await startTestStack(driver);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('writes a catalog change and its global event together, on the catalog primary', async () => {
    const operator = await devToken('globex', 'usr_globex_1', { roles: ['platform-operator'] });
    const id = `prd_outbox_${randomUUID().slice(0, 8)}`;
    const written = await postGraphQL(t.graphqlUrl, `mutation { upsertProduct(id: "${id}", name: "Outboxed", priceCents: 700) { id } }`, { token: operator });
    expect(written.body.data).toEqual({ upsertProduct: { id } });
    const suspended = await postGraphQL(t.graphqlUrl, 'mutation { suspendTenant(id: "umbrella") { id } }', { token: operator });
    const again = await postGraphQL(t.graphqlUrl, 'mutation { suspendTenant(id: "umbrella") { id } }', { token: operator });
    const reinstated = await postGraphQL(t.graphqlUrl, 'mutation { reinstateTenant(id: "umbrella") { id } }', { token: operator });
    expect([suspended.body.data, again.body.data, reinstated.body.data]).toEqual([{ suspendTenant: { id: 'umbrella' } }, { suspendTenant: { id: 'umbrella' } }, { reinstateTenant: { id: 'umbrella' } }]);
    const events = (await outboxOf(t, 'catalog')).filter((row) => row.entity === `product:${id}` || row.entity === 'tenant:umbrella');
    expect(events.map(({ id: _, ...row }) => row)).toEqual([
      { type: 'catalog.product.upserted', data_class: 'global', region: null, tenant_id: null, entity: `product:${id}`, data: { id, name: 'Outboxed', priceCents: 700, currency: 'USD' } },
      // Suspending a suspended tenant changes nothing and tells no one.
      { type: 'catalog.tenant.status-changed', data_class: 'global', region: null, tenant_id: 'umbrella', entity: 'tenant:umbrella', data: { tenantId: 'umbrella', region: 'latam', status: 'suspended' } },
      { type: 'catalog.tenant.status-changed', data_class: 'global', region: null, tenant_id: 'umbrella', entity: 'tenant:umbrella', data: { tenantId: 'umbrella', region: 'latam', status: 'active' } },
    ]);
  });

  it('refuses a tenant suspension to anyone but a platform operator, and writes no event then', async () => {
    const before = (await outboxOf(t, 'catalog')).length;
    const admin = await postGraphQL(t.graphqlUrl, 'mutation { suspendTenant(id: "acme") { id } }', { token: await devToken('acme', 'usr_acme_1', { roles: ['admin'] }) });
    expect(admin.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect((await outboxOf(t, 'catalog')).length).toBe(before);
  });

  it('writes a regional change and its regional event in the home region\'s database only', async () => {
    const token = await devToken('acme', 'usr_acme_2');
    const name = `Outbox ${randomUUID().slice(0, 8)}`;
    const profile = await postGraphQL(t.graphqlUrl, `mutation { updateProfile(name: "${name}") { name } }`, { token });
    const order = await postGraphQL(t.graphqlUrl, 'mutation { placeOrder(items: [{ productId: "prd_01", quantity: 2 }, { productId: "prd_02", quantity: 1 }]) { id totalCents } }', { token });
    expect(profile.body.data).toEqual({ updateProfile: { name } });
    const placed = order.body.data?.placeOrder as { id: string; totalCents: number };
    const byRegion = Object.fromEntries(await Promise.all(regions.map(async (region) => [region, (await outboxOf(t, region)).filter((row) => row.tenant_id === 'acme').map(({ id: _, ...row }) => row)] as const)));
    expect(byRegion).toEqual({
      us: [],
      apac: [],
      latam: [],
      eu: [
        { type: 'users.profile.updated', data_class: 'regional', region: 'eu', tenant_id: 'acme', entity: 'user:usr_acme_2', data: { userId: 'usr_acme_2', tenantId: 'acme', name } },
        { type: 'orders.order.placed', data_class: 'regional', region: 'eu', tenant_id: 'acme', entity: `order:${placed.id}`, data: { orderId: placed.id, tenantId: 'acme', userId: 'usr_acme_2', totalCents: placed.totalCents, lines: 2 } },
      ],
    });
    expect((await outboxOf(t, 'catalog')).filter((row) => row.tenant_id === 'acme')).toEqual([]);
  });

  it('keeps neither the change nor its event when the transaction fails after both were written', async () => {
    const id = `prd_rollback_${randomUUID().slice(0, 8)}`;
    const primary = t.stack.databases.get('catalog')!.db;
    const failed = await primary
      .transaction(async (transaction) => {
        const tx = transaction as unknown as Database;
        await tx.insert(products).values({ id, name: 'Never', priceCents: 1 });
        await recordEvent(tx, catalogOutbox, { type: 'catalog.product.upserted', data: { id, name: 'Never', priceCents: 1, currency: 'USD' } });
        throw new Error('the change failed after its event was written');
      })
      .then(() => 'committed', (error: Error) => error.message);
    expect(failed).toBe('the change failed after its event was written');
    expect(await rowsAsOwner(t.stack, 'catalog', sql`select id from products where id = ${id}`)).toEqual([]);
    expect((await outboxOf(t, 'catalog')).filter((row) => row.entity === `product:${id}`)).toEqual([]);
  });

  it('refuses an event its declaration does not allow, and the change with it', async () => {
    const primary = t.stack.databases.get('catalog')!.db;
    const refused = await recordEvent(primary, catalogOutbox, { type: 'catalog.product.upserted', data: { id: 'x', name: 'x', priceCents: 1, currency: 'USD', email: 'a@b.c' } as never }).then(
      () => 'written',
      (error: Error) => error.message,
    );
    expect(refused).toBe('refused to record an event: catalog.product.upserted declares no field "email"');
  });

  it('lets a tenant\'s transaction add its own tenant\'s events only, and read none', async () => {
    const eu = t.stack.databases.get('eu')!;
    // Drizzle wraps the server's refusal: its words are the cause's.
    const asAcme = (statement: ReturnType<typeof sql>) => eu.withTenant('acme', (db) => db.execute(statement)).then(() => 'ok', (error: Error) => ((error.cause as Error | undefined) ?? error).message);
    const row = (tenant: string) => sql`insert into outbox (id, type, data_class, region, tenant_id, entity, data) values (${randomUUID()}, 'users.profile.updated', 'regional', 'eu', ${tenant}, 'user:u', '{}')`;
    expect(await asAcme(row('acme'))).toBe('ok');
    expect(await asAcme(row('globex'))).toMatch(/row-level security/);
    expect(await asAcme(sql`select id from outbox`)).toMatch(/permission denied/);
  });
});
