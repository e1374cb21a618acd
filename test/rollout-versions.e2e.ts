import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GeofedConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { createTenants, meOf, servedFrom, withUsersV2, type TestTenant } from './fixtures/rollout.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';
import { startUsersV2, type UsersV2 } from './fixtures/users-v2.js';

// Two versions of users side by side in eu: v2 adds User.displayName and writes User.name family name first.
// Half of eu's tenants (by a hash of their id) and a pinned one are on the canary; every other region runs v1.
const stable = 'catalog@v1,users@v1,orders@v1';
const canary = 'catalog@v1,users@v2,orders@v1';

let t: TestStack;
let v2: UsersV2;
let config: GeofedConfig;
let eu: RunningGateway;
let tenants: TestTenant[];
/** The side each test tenant is served on, as the first request found it. */
const sideOf = new Map<string, string | null>();

beforeAll(async () => {
  t = await startTestStack('pglite');
  v2 = await startUsersV2('eu', t.stack.databases.get('eu')!);
  tenants = await createTenants(t, 'eu', 'eu_t', 24);
  config = withUsersV2(t.stack.config, 'eu', v2.url, { stable: 'v1', canary: 'v2', percent: 50, pinned: ['acme'] });
  eu = await startGateway({ config: servedFrom(config, 'eu'), env: gatewayEnv({}), port: 0 });
  for (const tenant of tenants) sideOf.set(tenant.id, (await meOf(eu.url, tenant)).version);
});
afterAll(async () => {
  await eu?.stop();
  await v2?.stop();
  await t?.stop();
});

describe('a canary of users@v2 in eu', () => {
  it('splits the region\'s tenants by a hash of their id, each tenant staying on its side', async () => {
    const onCanary = tenants.filter((tenant) => sideOf.get(tenant.id) === canary);
    expect({ canary: onCanary.length >= 6 && onCanary.length <= 18, sides: new Set(sideOf.values()) }).toEqual({ canary: true, sides: new Set([stable, canary]) });
    for (const tenant of tenants) {
      const again = await Promise.all([1, 2, 3].map(() => meOf(eu.url, tenant)));
      expect(again.map((r) => r.version)).toEqual([1, 2, 3].map(() => sideOf.get(tenant.id)));
    }
  });

  it('serves each side its version\'s resolvers, and says which in x-geofed-version', async () => {
    for (const tenant of tenants) {
      const answer = await meOf(eu.url, tenant);
      const [given, family] = tenant.name.split(' ');
      expect({ status: answer.status, data: answer.body.data }).toEqual({ status: 200, data: { me: { name: answer.version === canary ? `${family}, ${given}` : tenant.name } } });
    }
    const pinned = await meOf(eu.url, { token: await devToken('acme', 'usr_acme_1') });
    expect({ version: pinned.version, data: pinned.body.data }).toEqual({ version: canary, data: { me: { name: 'Lovelace, Ada' } } });
  });

  it('serves a field of v2 to the canary side, and to the stable side it is a validation error that names the version', async () => {
    const [onCanary, onStable] = [canary, stable].map((side) => tenants.find((tenant) => sideOf.get(tenant.id) === side)!);
    const served = await meOf(eu.url, onCanary!, 'displayName');
    expect({ status: served.status, data: served.body.data }).toEqual({ status: 200, data: { me: { displayName: 'Tess T.' } } });
    const refused = await meOf(eu.url, onStable!, 'displayName');
    expect({ status: refused.status, version: refused.version, code: refused.body.errors?.[0]?.extensions?.code }).toEqual({ status: 400, version: stable, code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(refused.body.errors?.[0]?.message).toBe('Cannot query field "displayName" on type "User". (validated against users@v1)');
  });

  it('runs the other regions and anonymous callers on their stable versions', async () => {
    const us = await meOf(eu.url, { token: await devToken('globex', 'usr_globex_1') });
    expect({ version: us.version, data: us.body.data }).toEqual({ version: stable, data: { me: { name: 'Grace Hopper' } } });
    const anonymous = await postGraphQL(`${eu.url}/graphql`, '{ products(first: 1) { name } }');
    expect({ status: anonymous.status, version: anonymous.headers.get('x-geofed-version') }).toEqual({ status: 200, version: stable });
  });

  it('plans an operation on its tenant\'s home region\'s versions whichever gateway runs it', async () => {
    const us = await startGateway({ config: servedFrom(config, 'us'), env: gatewayEnv({}), port: 0 });
    try {
      for (const tenant of tenants.slice(0, 6)) expect((await meOf(us.url, tenant)).version).toBe(sideOf.get(tenant.id));
      expect((await meOf(us.url, { token: await devToken('globex', 'usr_globex_1') })).version).toBe(stable);
    } finally {
      await us.stop();
    }
  });
});

describe('a catalog version deployed in some regions only', () => {
  it('fails global reads over only to instances of the same version, and otherwise fails closed', async () => {
    const catalog = t.stack.config.subgraphs.find((s) => s.name === 'catalog')!;
    const withCatalogV2: GeofedConfig = {
      ...config,
      subgraphs: config.subgraphs.map((s) => (s.name === 'catalog' ? { ...s, versions: { ...s.versions, v2: { schema: s.schema, urls: { eu: catalog.urls.eu!, apac: catalog.urls.apac! } } } } : s)),
      rollout: { ...config.rollout, regions: { ...config.rollout.regions, eu: { ...config.rollout.regions.eu, catalog: { stable: 'v2', percent: 0, pinned: [] } } } },
    };
    const gateway = await startGateway({ config: servedFrom(withCatalogV2, 'eu'), env: gatewayEnv({}), port: 0 });
    const read = async () => {
      const answer = await postGraphQL(`${gateway.url}/graphql`, '{ products(first: 1) { name } }');
      return { status: answer.status, version: answer.headers.get('x-geofed-version'), served: answer.headers.get('x-geofed-global-region'), code: answer.body.errors?.[0]?.extensions?.code };
    };
    try {
      expect(await read()).toEqual({ status: 200, version: 'catalog@v2,users@v1,orders@v1', served: 'eu', code: undefined });
      await t.stack.stopSubgraphInstance('catalog', 'eu');
      // us is nearer to eu than apac, but runs catalog@v1.
      expect(await read()).toEqual({ status: 200, version: 'catalog@v2,users@v1,orders@v1', served: 'apac', code: undefined });
      await t.stack.stopSubgraphInstance('catalog', 'apac');
      expect(await read()).toEqual({ status: 503, version: 'catalog@v2,users@v1,orders@v1', served: null, code: 'SUBGRAPH_UNAVAILABLE' });
      // A region on catalog@v1 still fails over to us.
      const v1 = await postGraphQL(`${eu.url}/graphql`, '{ products(first: 1) { name } }');
      expect({ status: v1.status, served: v1.headers.get('x-geofed-global-region') }).toEqual({ status: 200, served: 'us' });
    } finally {
      await gateway.stop();
      await t.stack.startSubgraphInstance('catalog', 'eu');
      await t.stack.startSubgraphInstance('catalog', 'apac');
    }
  });
});
