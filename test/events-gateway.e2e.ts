import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';
import { waitFor } from './fixtures/wait.js';

// A gateway as started by startGateway consumes the catalog's events by itself (docs/events.md): a tenant suspended
// by a platform operator is refused as soon as the event arrives, with its cached entry an hour from expiring.
const hour = 3_600_000;
let t: TestStack;

beforeAll(async () => {
  t = await startTestStack('pglite', { events: true, configure: (config) => ({ ...config, gateway: { ...config.gateway, tenantCacheTtlMs: hour } }) });
});
afterAll(async () => {
  await t?.stop();
});

describe('a gateway and the catalog events', () => {
  it('refuses a suspended tenant once the event arrives, and serves it again once reinstated, long before its cache expires', async () => {
    const acme = await devToken('acme', 'usr_acme_1');
    const operator = await devToken('globex', 'usr_globex_1', { roles: ['platform-operator'] });
    const tenant = async () => {
      const answer = await postGraphQL(t.graphqlUrl, '{ tenant { id } }', { token: acme });
      return answer.body.errors?.[0]?.extensions?.code ?? (answer.body.data?.tenant as { id: string }).id;
    };
    expect(await tenant()).toBe('acme');
    const suspended = await postGraphQL(t.graphqlUrl, 'mutation { suspendTenant(id: "acme") { id } }', { token: operator });
    expect(suspended.body.data).toEqual({ suspendTenant: { id: 'acme' } });
    await waitFor(tenant, { until: (code) => code === 'FORBIDDEN', timeoutMs: 15_000, what: 'the gateway to refuse the suspended tenant' });
    const reinstated = await postGraphQL(t.graphqlUrl, 'mutation { reinstateTenant(id: "acme") { id } }', { token: operator });
    expect(reinstated.body.data).toEqual({ reinstateTenant: { id: 'acme' } });
    await waitFor(tenant, { until: (id) => id === 'acme', timeoutMs: 15_000, what: 'the gateway to serve the reinstated tenant' });
  });
});
