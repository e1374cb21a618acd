import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { subgraphTenantDirectory } from '../gateway/tenant-directory.js';
import { startDirectoryInvalidation, type RunningDirectoryEvents } from '../gateway/tenant-invalidation.js';
import type { EventEnvelope } from '../protocol/events.js';
import type { EventBus } from '../runtime/events/bus.js';
import type { EventsSettings } from '../runtime/events/settings.js';
import { startDatabaseRelay } from '../subgraphs/events.js';
import { deleteStreamsOf, openTestBus, testPrefix, type BusKind } from './fixtures/events.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';
import { waitFor } from './fixtures/wait.js';

// Issue 17, "What consumes them": a tenant suspended by a platform operator is refused by every region's gateway as
// soon as that region has consumed the catalog's event, long before its cached entry (an hour here) expires.
const regions = ['us', 'eu', 'apac', 'latam'];
const hour = 3_600_000;

describe.each<BusKind>(['jetstream', 'memory'])('tenant status changes over the %s bus', (kind) => {
  let t: TestStack;
  let bus: EventBus;
  let settings: EventsSettings;
  const gateways = new Map<string, RunningGateway>();
  const consumers = new Map<string, RunningDirectoryEvents>();
  const applied = new Map<string, EventEnvelope[]>(regions.map((r) => [r, []]));
  const stops: (() => Promise<void>)[] = [];

  const consume = async (region: string) => {
    consumers.set(region, await startDirectoryInvalidation({ bus, settings, region, instance: 'test', directory: () => directories.get(region), onApplied: (event) => applied.get(region)!.push(event) }));
  };
  const directories = new Map<string, ReturnType<typeof subgraphTenantDirectory>>();
  const tenantAt = async (region: string, token: string) => {
    const answer = await postGraphQL(`${gateways.get(region)!.url}/graphql`, '{ tenant { id } }', { token });
    return answer.body.errors?.[0]?.extensions?.code ?? (answer.body.data?.tenant as { id: string }).id;
  };
  const consumedStatus = (region: string, status: string) => applied.get(region)!.some((e) => e.type === 'catalog.tenant.status-changed' && e.data.tenantId === 'acme' && e.data.status === status);

  beforeAll(async () => {
    bus = await openTestBus(kind);
    settings = { natsUrl: undefined, prefix: testPrefix(), duplicateWindowMs: 60_000, maxAttempts: 3, pollMs: 10 };
    t = await startTestStack('pglite', { configure: (config) => ({ ...config, gateway: { ...config.gateway, tenantCacheTtlMs: hour } }) });
    const relay = startDatabaseRelay({ database: t.stack.databases.get('catalog')!, scope: 'catalog', region: 'us', bus, settings });
    stops.push(() => relay.stop());
    const env = gatewayEnv({});
    const catalogUrls = t.stack.config.subgraphs.find((s) => s.name === 'catalog')!.urls;
    for (const region of regions) {
      // Each region's gateway, with its own directory cache, as deployed.
      directories.set(region, subgraphTenantDirectory({ urls: [catalogUrls[region]!], secret: env.subgraphSecrets.current, ttlMs: hour, notFoundTtlMs: hour, timeoutMs: 5_000 }));
      gateways.set(region, await startGateway({ config: { ...t.stack.config, gateway: { ...t.stack.config.gateway, region, port: 0 } }, env, directory: directories.get(region)! }));
      await consume(region);
    }
  });
  afterAll(async () => {
    await Promise.allSettled([...consumers.values()].map((c) => c.stop()));
    await Promise.allSettled(stops.map((stop) => stop()));
    await Promise.allSettled([...gateways.values()].map((g) => g.stop()));
    await t?.stop();
    if (bus) await deleteStreamsOf(bus, settings.prefix);
    await bus?.close();
  });

  it('refuses a suspended tenant in each region once that region consumed the event, and serves it again once reinstated', async () => {
    const acme = await devToken('acme', 'usr_acme_1');
    const operator = await devToken('globex', 'usr_globex_1', { roles: ['platform-operator'] });
    // Every region has acme's entry cached as active, for an hour.
    for (const region of regions) expect(await tenantAt(region, acme), region).toBe('acme');
    // latam is not consuming while the tenant is suspended.
    await consumers.get('latam')!.stop();
    const suspended = await postGraphQL(t.graphqlUrl, 'mutation { suspendTenant(id: "acme") { id } }', { token: operator });
    expect(suspended.body.data).toEqual({ suspendTenant: { id: 'acme' } });
    await waitFor(() => ['us', 'eu', 'apac'].every((r) => consumedStatus(r, 'suspended')), { what: 'us, eu and apac consumed the suspension', timeoutMs: 10_000 });
    for (const region of ['us', 'eu', 'apac']) expect(await tenantAt(region, acme), region).toBe('FORBIDDEN');
    // Not consumed in latam yet: its cache still says active.
    expect(await tenantAt('latam', acme)).toBe('acme');
    await consume('latam');
    await waitFor(() => consumedStatus('latam', 'suspended'), { what: 'latam consumed the suspension once its consumer was back', timeoutMs: 10_000 });
    expect(await tenantAt('latam', acme)).toBe('FORBIDDEN');
    const reinstated = await postGraphQL(t.graphqlUrl, 'mutation { reinstateTenant(id: "acme") { id } }', { token: operator });
    expect(reinstated.body.data).toEqual({ reinstateTenant: { id: 'acme' } });
    await waitFor(() => regions.every((r) => consumedStatus(r, 'active')), { what: 'every region consumed the reinstatement', timeoutMs: 10_000 });
    for (const region of regions) expect(await tenantAt(region, acme), region).toBe('acme');
    // Each region applied each change once.
    for (const region of regions) expect(applied.get(region)!.filter((e) => e.entity === 'tenant:acme').map((e) => e.data.status), region).toEqual(['suspended', 'active']);
  });
});
