import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstashRestProxy, type UpstashRestProxy } from '../dev/upstash-rest-proxy.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { metricValue } from './fixtures/metrics.js';
import { createTenants, meOf, rolloutStatusOf, servedFrom, withUsersV2, type TestTenant } from './fixtures/rollout.js';
import { startTestStack, type TestStack } from './fixtures/stack.js';
import { startUsersV2, type UsersV2 } from './fixtures/users-v2.js';
import { waitFor } from './fixtures/wait.js';

// The guard: users@v2 on a 50 % canary in eu, served by two gateways of eu that add their counts to the region's
// in the shared store. v2 starts failing; neither gateway alone sees min_requests canary requests, the region
// does, and the canary goes to 0 % by itself while the stable side answers every request without an error.
const stable = 'catalog@v1,users@v1,orders@v1';
const canary = 'catalog@v1,users@v2,orders@v1';
const minRequests = 40;

let t: TestStack;
let proxy: UpstashRestProxy;
let v2: UsersV2;
let gateways: RunningGateway[];
let tenants: TestTenant[];
/** Lets a request held in v2 go, whatever the test got to. */
let release = () => {};

beforeAll(async () => {
  t = await startTestStack('pglite');
  proxy = await startUpstashRestProxy();
  v2 = await startUsersV2('eu', t.stack.databases.get('eu')!);
  tenants = await createTenants(t, 'eu', 'eu_g', 24);
  const rollout = servedFrom(
    withUsersV2(t.stack.config, 'eu', v2.url, { stable: 'v1', canary: 'v2', percent: 50, pinned: [] }, {
      pollMs: 100,
      // The test's gateways share one event loop: one busy delays the other's store answers.
      storeTimeoutMs: 10_000,
      keyPrefix: `geofed:rollout:test:${randomUUID()}`,
      // A window far longer than the test's traffic takes: every request of the test is in it. Latency is not judged here.
      guard: { enabled: true, windowMs: 60_000, minRequests, maxErrorRateDelta: 0.2, maxP95Ratio: 1_000 },
    }),
    'eu',
  );
  // The request held at v2's door waits there longer than the default fetch deadline.
  const config = { ...rollout, gateway: { ...rollout.gateway, subgraphTimeoutMs: 60_000 } };
  const env = gatewayEnv({ UPSTASH_REDIS_REST_URL: proxy.url, UPSTASH_REDIS_REST_TOKEN: proxy.token });
  gateways = [await startGateway({ config, env, port: 0 }), await startGateway({ config, env, port: 0 })];
});
afterAll(async () => {
  release();
  for (const gateway of gateways ?? []) await gateway.stop();
  await v2?.stop();
  await proxy?.stop();
  await t?.stop();
});

describe('the rollout guard', { timeout: 120_000 }, () => {
  it('rolls a failing canary back by itself on the region\'s counts; the stable side sees no error and a request in flight finishes', async () => {
    const [a, b] = gateways as [RunningGateway, RunningGateway];
    // One request of each tenant at each gateway: the sides, and the counts every later step adds to.
    const sides = new Map<string, string | null>();
    for (const tenant of tenants) {
      const [atA, atB] = [await meOf(a.url, tenant), await meOf(b.url, tenant)];
      expect({ a: atA.version, errors: atA.body.errors ?? [] }).toEqual({ a: atB.version, errors: [] });
      sides.set(tenant.id, atA.version);
    }
    const onCanary = tenants.filter((tenant) => sides.get(tenant.id) === canary);
    const onStable = tenants.filter((tenant) => sides.get(tenant.id) === stable);
    expect(onCanary.length >= 6 && onCanary.length <= 18).toBe(true);
    // Each gateway will serve at most 24 canary requests in all: under min_requests alone, over it together.
    const failingPerGateway = 24 - onCanary.length;

    release = v2.hold('displayName');
    // A selection of its own: an identical fetch of the same tenant would share the held one (subgraph_limits.dedup).
    const inFlight = meOf(a.url, onCanary[0]!, 'name displayName');
    await waitFor(() => v2.held, { until: (held) => held === 1, what: 'a canary request held in v2' });

    v2.failing = true;
    const firstFailure = Date.now();
    const answers: { version: string | null; errors: number }[] = [];
    const ask = async (url: string, tenant: TestTenant) => {
      const answer = await meOf(url, tenant);
      answers.push({ version: answer.version, errors: answer.body.errors?.length ?? 0 });
    };
    for (let i = 0; i < failingPerGateway; i += 1) {
      for (const url of [a.url, b.url]) {
        await ask(url, onCanary[i % onCanary.length]!);
        await ask(url, onStable[i % onStable.length]!);
      }
    }
    // No canary request more: only the region's counts, every gateway's together, can reach min_requests.
    const [statusA, statusB] = await waitFor(() => Promise.all([rolloutStatusOf(a.url), rolloutStatusOf(b.url)]), {
      until: (both) => both.every((status) => status.entries.some((e) => e.subgraph === 'users' && e.rollback !== undefined)),
      what: 'both gateways seeing the rollback',
      timeoutMs: 20_000,
    });
    const seenByBoth = Date.now();
    const rolledBack = statusA!.entries.find((e) => e.region === 'eu' && e.subgraph === 'users')!;
    expect(statusB!.entries.find((e) => e.region === 'eu' && e.subgraph === 'users')).toMatchObject({ percent: 0, rollback: rolledBack.rollback });
    expect(rolledBack).toMatchObject({ stable: 'v1', canary: 'v2', percent: 0, source: 'store', rollback: { by: 'guard', version: 'v2', reason: expect.stringMatching(/^error rate \d+\.\d % on users@v2 \(\d+ of \d+\) against 0\.0 % on users@v1/) } });
    const written = Date.parse(rolledBack.rollback!.at);

    // The request held in v2 since before the rollback finishes there, with v2's answer.
    v2.failing = false;
    release();
    const held = await inFlight;
    const [given, family] = onCanary[0]!.name.split(' ');
    expect({ status: held.status, version: held.version, data: held.body.data }).toEqual({ status: 200, version: canary, data: { me: { name: `${family}, ${given}`, displayName: 'Tess T.' } } });

    // Every tenant is on the stable side now, at both gateways, and is served.
    for (const url of [a.url, b.url]) for (const tenant of tenants) await ask(url, tenant);
    const afterRollback = answers.slice(-2 * tenants.length);
    expect(new Set(afterRollback.map((x) => `${x.version} ${x.errors}`))).toEqual(new Set([`${stable} 0`]));
    const stableErrors = answers.filter((x) => x.version === stable).reduce((sum, x) => sum + x.errors, 0);
    const canaryFailures = answers.filter((x) => x.version === canary && x.errors > 0).length;
    // Each gateway served at most 24 canary requests, under min_requests: the region's counts rolled it back.
    expect({ stableErrors, canaryFailures: canaryFailures > 0 && canaryFailures <= 2 * failingPerGateway, alone: onCanary.length + failingPerGateway < minRequests }).toEqual({ stableErrors: 0, canaryFailures: true, alone: true });

    // One gateway wrote the rollback (compare-and-set): one count across the two.
    const series = 'geofed_rollout_rollbacks_total{region="eu",subgraph="users",version="v2",by="guard"}';
    expect((await metricValue(a.url, series)) + (await metricValue(b.url, series))).toBe(1);
    console.log(
      `automatic rollback: ${written - firstFailure} ms from the first failing request to the guard's write, ${seenByBoth - firstFailure} ms until both gateways showed it; ` +
        `${canaryFailures} failed canary requests (${failingPerGateway} per gateway, min_requests ${minRequests}), ${answers.filter((x) => x.version === stable).length} stable answers with ${stableErrors} errors`,
    );
  });
});
