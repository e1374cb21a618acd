import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogger, copyLogLines, logger } from '../runtime/logger.js';
import { seedTenants, seedUsers, firstUserOf } from '../subgraphs/shared/seed-data.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';

// NODE_ENV=production: nothing leaks in errors, and logs carry no PII and no variables.
const env = {
  NODE_ENV: 'production',
  GEOFED_JWT_SECRET: 'production-suite-jwt-secret-0123456789abcdef',
  GEOFED_SUBGRAPH_SECRET: 'production-suite-subgraph-secret-0123456789',
  GEOFED_GATEWAY_HOP_SECRET: 'production-suite-hop-secret-0123456789abcd',
};
let t: TestStack;
const token = (tenantId: string, userId = firstUserOf(tenantId)!.id) => devToken(tenantId, userId, { env });

beforeAll(async () => {
  t = await startTestStack('postgres', { env });
});
afterAll(async () => {
  await t?.stop();
});

describe('production', () => {
  it('turns introspection and field suggestions off', async () => {
    const introspection = await postGraphQL(t.graphqlUrl, '{ __schema { types { name } } }');
    expect(introspection.status).toBe(400);
    expect(introspection.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const typo = await postGraphQL(t.graphqlUrl, '{ prodcts { id } }');
    expect(typo.status).toBe(400);
    expect(typo.body.errors?.[0]?.message).not.toMatch(/Did you mean/);
  });

  it('answers errors without stack, SQL, URL or host', async () => {
    const port = new URL(t.stack.subgraph('users', 'apac').url).port;
    await t.stack.stopRegion('apac');
    try {
      const down = await postGraphQL(t.graphqlUrl, '{ me { email } }', { token: await token('initech') });
      // Every root field null: the response holds no data, so its status is the error's (docs/errors.md).
      expect({ status: down.status, data: down.body.data, code: down.body.errors?.[0]?.extensions?.code }).toEqual({ status: 503, data: { me: null }, code: 'REGION_UNAVAILABLE' });
      const text = JSON.stringify(down.body);
      expect(text).not.toMatch(/127\.0\.0\.1|localhost|http:|stack|ECONNREFUSED|select /i);
      expect(text).not.toContain(port);
    } finally {
      await t.stack.startRegion('apac');
    }
    const badInput = await postGraphQL(t.graphqlUrl, '{ me { orders(first: -1) { id } } }', { token: await token('acme') });
    expect(JSON.stringify(badInput.body)).not.toMatch(/stacktrace|select |from "/i);
    expect(badInput.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('logs no PII and no variables, and audits every regional fetch', async () => {
    const lines: string[] = [];
    const levels = [logger.level, auditLogger.level];
    logger.level = 'trace';
    auditLogger.level = 'info';
    const stop = copyLogLines((line) => lines.push(line));
    try {
      for (const tenant of seedTenants) {
        const me = await postGraphQL(t.graphqlUrl, 'query MyProfile { me { name email orders(first: 3) { items { product { name } } } } }', { token: await token(tenant.id) });
        expect(me.status).toBe(200);
        const other = seedUsers.find((u) => u.tenantId === tenant.id && !u.id.endsWith('_1'))!;
        await postGraphQL(t.graphqlUrl, 'query Colleague($id: ID!) { user(id: $id) { name email } }', { token: await token(tenant.id), variables: { id: other.id } });
        await postGraphQL(t.graphqlUrl, 'mutation Rename($name: String!) { updateProfile(name: $name) { name } }', { token: await token(tenant.id, other.id), variables: { name: other.name } });
      }
      await postGraphQL(t.graphqlUrl, '{ me { email } }', { token: 'tampered.token.value' });
    } finally {
      stop();
      [logger.level, auditLogger.level] = levels as [string, string];
    }
    const text = lines.join('\n');
    for (const user of seedUsers) {
      expect(text).not.toContain(user.email);
      expect(text).not.toContain(user.name);
    }
    const audits = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.event === 'regional_fetch');
    for (const tenant of seedTenants) {
      const own = audits.filter((entry) => entry.tenant === tenant.id);
      expect(own.length, tenant.id).toBeGreaterThanOrEqual(4);
      expect(new Set(own.map((entry) => entry.region))).toEqual(new Set([tenant.region]));
      expect(own).toContainEqual(expect.objectContaining({ subgraph: 'users', operation: 'MyProfile', outcome: 'ok', audit: true }));
      expect(own).toContainEqual(expect.objectContaining({ subgraph: 'orders', operation: 'MyProfile', outcome: 'ok' }));
    }
  });
});
