import { afterAll, beforeAll } from 'vitest';
import { startTestStack, type TestStack } from './fixtures/stack.js';
import { defineRowLevelSecuritySuite } from './fixtures/row-level-security.js';

// PGlite is PostgreSQL compiled to WebAssembly: roles and row-level security work as on the server.
const secret = 'pglite-rls-suite-secret-0123456789abcdef';
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack('pglite', { env: { GEOFED_SUBGRAPH_SECRET: secret }, testHooks: { forgetTenantFilter: true, reportSession: true } });
});
afterAll(async () => {
  await t?.stop();
});

defineRowLevelSecuritySuite('pglite', () => t, secret);
