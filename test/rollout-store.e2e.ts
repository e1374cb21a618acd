import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstashRestProxy, type UpstashRestProxy } from '../dev/upstash-rest-proxy.js';
import type { GeofedConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { signHop } from '../gateway/hop-signature.js';
import { seedTenants, firstUserOf } from '../subgraphs/index.js';
import { createTenants, meOf, servedFrom, type TestTenant } from './fixtures/rollout.js';
import { devToken, startTestStack, type TestStack } from './fixtures/stack.js';
import { startUsersV2, usersV2Schema, type UsersV2 } from './fixtures/users-v2.js';
import { waitFor } from './fixtures/wait.js';

// The live rollout state in the shared Upstash Redis (through the REST proxy over the local Redis): two gateways
// of eu see a change either makes, a restarted gateway serves the state it finds, and the CLI drives it all.
const run = promisify(execFile);
const stable = 'catalog@v1,users@v1,orders@v1';
const canary = 'catalog@v1,users@v2,orders@v1';

let t: TestStack;
let proxy: UpstashRestProxy;
const v2 = new Map<string, UsersV2>();
let config: GeofedConfig;
let env: NodeJS.ProcessEnv;
let a: RunningGateway;
let b: RunningGateway;
let tenants: TestTenant[];

/** `npx geofed rollout …` as an operator runs it, against one gateway. */
async function rollout(gateway: RunningGateway, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['cli/geofed.mjs', 'rollout', ...args, '--gateway', gateway.url], { env: { ...process.env, LOG_LEVEL: 'silent' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const eu = () => servedFrom(config, 'eu');

beforeAll(async () => {
  t = await startTestStack('pglite');
  proxy = await startUpstashRestProxy();
  for (const region of t.stack.config.regions) v2.set(region, await startUsersV2(region, t.stack.databases.get(region)!));
  tenants = await createTenants(t, 'eu', 'eu_s', 12);
  const base = t.stack.config;
  config = {
    ...base,
    subgraphs: base.subgraphs.map((s) => (s.name === 'users' ? { ...s, versions: { v2: { schema: { file: usersV2Schema }, urls: Object.fromEntries([...v2].map(([r, server]) => [r, server.url])) } } } : s)),
    // The test's gateways share one event loop: one rebuilding its request path delays the other's store answers.
    rollout: { ...base.rollout, pollMs: 100, storeTimeoutMs: 10_000, keyPrefix: `geofed:rollout:test:${randomUUID()}` },
  };
  env = { UPSTASH_REDIS_REST_URL: proxy.url, UPSTASH_REDIS_REST_TOKEN: proxy.token };
  a = await startGateway({ config: eu(), env: gatewayEnv(env), port: 0 });
  b = await startGateway({ config: eu(), env: gatewayEnv(env), port: 0 });
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  for (const server of v2.values()) await server.stop();
  await proxy?.stop();
  await t?.stop();
});

// Each command is a process of its own (the CLI loads in seconds on a busy machine).
describe('a rollout driven by npx geofed rollout, shared in Upstash', { timeout: 120_000 }, () => {
  it('starts a canary through one gateway of eu; the other one serves it at its next poll', async () => {
    expect(new Set(await Promise.all(tenants.map(async (tenant) => (await meOf(b.url, tenant)).version)))).toEqual(new Set([stable]));
    const started = await rollout(a, 'start', 'users@v2', '--region', 'eu', '--percent', '50', '--pin', 'acme');
    expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });
    expect(started.stdout).toContain('eu users: stable v1, canary v2 at 50 % and pinned acme (revision 1, from the store');
    // The gateway asked answers once it serves the new state.
    const sidesAtA = await Promise.all(tenants.map(async (tenant) => (await meOf(a.url, tenant)).version));
    expect(new Set(sidesAtA)).toEqual(new Set([stable, canary]));
    const sidesAtB = await waitFor(() => Promise.all(tenants.map(async (tenant) => (await meOf(b.url, tenant)).version)), { until: (sides) => sides.join() === sidesAtA.join(), what: 'the second gateway serving the canary', timeoutMs: 20_000 });
    expect(sidesAtB).toEqual(sidesAtA);
    expect((await meOf(b.url, { token: await devToken('acme', 'usr_acme_1') })).version).toBe(canary);
  });

  it('shows the state through any gateway, and refuses a command it cannot apply, naming why', async () => {
    const status = await rollout(b, 'status', '--region', 'eu');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/eu users: stable v1, canary v2 at 50 % and pinned acme \(revision 1, from the store/);
    expect(status.stdout).toMatch(/last 60 s: canary \d+ requests, 0 errors/);
    const wrong = await rollout(a, 'start', 'users@v3', '--region', 'eu', '--percent', '5');
    expect({ code: wrong.code, stderr: wrong.stderr.trim() }).toEqual({ code: 1, stderr: expect.stringContaining('users in eu: "v3" is not a version of users [v1, v2] (BAD_REQUEST)') });
    const usage = await rollout(a, 'start', 'users', '--region', 'eu');
    expect({ code: usage.code, stderr: usage.stderr }).toEqual({ code: 2, stderr: expect.stringContaining('name the version as <subgraph>@<version>, such as users@v2') });
  });

  it('refuses an unsigned or replayed request to /rollout', async () => {
    expect((await fetch(`${a.url}/rollout`)).status).toBe(401);
    const body = Buffer.from(JSON.stringify({ action: 'rollback', subgraph: 'users', region: 'eu' }));
    const headers = signHop('not-the-admin-secret', { method: 'POST', target: '/rollout', headers: { accept: 'application/json', 'content-type': 'application/json' }, body }, 'operator');
    const forged = await fetch(`${a.url}/rollout`, { method: 'POST', headers, body });
    expect({ status: forged.status, body: await forged.json() }).toEqual({ status: 401, body: { errors: [{ message: expect.stringContaining('signature does not match'), extensions: { code: 'UNAUTHENTICATED' } }] } });
    const signed = signHop(gatewayEnv({}).adminSecret, { method: 'GET', target: '/rollout', headers: { accept: 'application/json' }, body: Buffer.alloc(0) }, 'operator');
    expect((await fetch(`${a.url}/rollout`, { headers: signed })).status).toBe(200);
    expect((await fetch(`${a.url}/rollout`, { headers: signed })).status).toBe(401);
  });

  it('promotes to every region, region by region, and v1 is retired', async () => {
    const promoted = await rollout(a, 'promote', 'users@v2', '--region', 'all');
    expect({ code: promoted.code, stderr: promoted.stderr }).toEqual({ code: 0, stderr: '' });
    expect(promoted.stdout).toContain('users@v1: retired (no region runs it)');
    expect(promoted.stdout).toContain('users@v2: us, eu, apac, latam');
    const everyone = [...tenants, ...(await Promise.all(seedTenants.map(async (s) => ({ token: await devToken(s.id, firstUserOf(s.id)!.id) }))))];
    for (const gateway of [a, b]) {
      const versions = await waitFor(() => Promise.all(everyone.map(async (tenant) => (await meOf(gateway.url, tenant)).version)), { until: (all) => all.every((v) => v === canary), what: 'every tenant on users@v2', timeoutMs: 20_000 });
      expect(new Set(versions)).toEqual(new Set([canary]));
    }
  });

  it('survives a gateway restart: a new gateway serves the state it finds in the store', async () => {
    await b.stop();
    b = await startGateway({ config: eu(), env: gatewayEnv(env), port: 0 });
    expect((await meOf(b.url, tenants[0]!)).version).toBe(canary);
  });
});

describe('a rollout kept in memory (no Upstash)', { timeout: 120_000 }, () => {
  it('is the one gateway\'s, and is gone when it restarts', async () => {
    let alone = await startGateway({ config: eu(), env: gatewayEnv({}), port: 0 });
    try {
      expect((await rollout(alone, 'start', 'users@v2', '--region', 'eu', '--percent', '100')).code).toBe(0);
      expect((await meOf(alone.url, tenants[0]!)).version).toBe(canary);
      await alone.stop();
      alone = await startGateway({ config: eu(), env: gatewayEnv({}), port: 0 });
      expect((await meOf(alone.url, tenants[0]!)).version).toBe(stable);
    } finally {
      await alone.stop();
    }
  });
});
