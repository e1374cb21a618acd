import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rowsOf, type Driver, type TestStack } from './fixtures/stack.js';
import { callSubgraph } from './fixtures/subgraph-client.js';

/**
 * Row-level security checks on a stack started with the `forgetTenantFilter`
 * and `reportSession` test hooks: the users loader forgets its tenant filter,
 * and the database alone must keep tenants apart.
 */
export function defineRowLevelSecuritySuite(driver: Driver, stack: () => TestStack, secret: string, onRefused: () => void = () => {}): void {
  describe(`row-level security on ${driver}`, () => {
    it('returns only the caller\'s rows from a query that forgot its tenant filter', async () => {
      const t = stack();
      await rowsOf(t.stack, 'eu', sql`insert into users (id, tenant_id, email, name) values ('usr_intruder_1', 'intruder', 'eve@intruder.example', 'Eve Intruder') on conflict do nothing`);
      const url = t.stack.subgraph('users', 'eu').url;
      const acme = { tenantId: 'acme', userId: 'usr_acme_1', roles: [], region: 'eu' };
      t.clearQueries();
      const result = await callSubgraph(url, '{ _entities(representations: [{ __typename: "User", id: "usr_intruder_1" }, { __typename: "User", id: "usr_acme_2" }]) { ... on User { id email } } }', { secret, caller: acme });
      expect(result.body.data).toEqual({ _entities: [null, { id: 'usr_acme_2', email: 'bruno.keller@acme.example' }] });
      onRefused();
      const loaderSql = (t.queries.get('eu') ?? []).find((statement) => statement.includes('from "users"'));
      expect(loaderSql, 'the fault is on: the loader query has no tenant filter').toBeDefined();
      expect(loaderSql).not.toMatch(/"tenant_id" =/);
      expect((result.body as { extensions?: { geofedSession?: unknown } }).extensions?.geofedSession).toMatchObject({ role: 'geofed_app', tenant: 'acme' });
      const intruder = await callSubgraph(url, '{ _entities(representations: [{ __typename: "User", id: "usr_intruder_1" }]) { ... on User { email } } }', { secret, caller: { tenantId: 'intruder', userId: 'usr_intruder_1', roles: [], region: 'eu' } });
      expect(intruder.body.data).toEqual({ _entities: [{ email: 'eve@intruder.example' }] });
    });

    it('runs requests as a role that is not a superuser, has no BYPASSRLS and owns no table', async () => {
      const t = stack();
      for (const region of t.stack.config.regions) {
        const [role] = await rowsOf<{ rolsuper: boolean; rolbypassrls: boolean }>(t.stack, region, sql`select rolsuper, rolbypassrls from pg_roles where rolname = 'geofed_app'`);
        expect(role).toEqual({ rolsuper: false, rolbypassrls: false });
        const owned = await rowsOf<{ count: string | number }>(t.stack, region, sql`select count(*) from pg_tables where tableowner = 'geofed_app'`);
        expect(Number(owned[0]!.count)).toBe(0);
        const forced = await rowsOf<{ relname: string }>(t.stack, region, sql`select relname from pg_class where relname in ('users', 'orders', 'order_items') and relrowsecurity and relforcerowsecurity order by relname`);
        expect(forced.map((r) => r.relname)).toEqual(['order_items', 'orders', 'users']);
      }
    });
  });
}
