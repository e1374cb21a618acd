import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { loadConfig } from '../gateway/config.js';
import { firstUserOf, seedTenants } from '../subgraphs/index.js';
import { adminUrl, createTestDatabases, type TestDatabases } from './fixtures/postgres.js';
import { devToken, postGraphQL } from './fixtures/stack.js';

// Connection budgets: twelve subgraph processes (catalog, users, orders in four regions), each its own process as
// a one-process-per-subgraph deployment runs them, started at once on one PostgreSQL (they migrate under an
// advisory lock), fit its 100 connections with room to spare; and a database out of connections is a coded 503.
const regions = ['us', 'eu', 'apac', 'latam'];
const subgraphs = ['catalog', 'users', 'orders'];
const children: ChildProcess[] = [];
let databases: TestDatabases;
let admin: postgres.Sql;
let gateway: RunningGateway;
const urls = new Map<string, string>();

function startSubgraph(name: string, region: string, env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'subgraphs/main.ts', name, '--region', region], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const collect = (chunk: Buffer) => {
      out += chunk.toString();
      const match = /serving (http:\/\/\S+\/graphql)/.exec(out);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.once('exit', (code) => reject(new Error(`${name} ${region} exited with ${code}: ${out}`)));
  });
}

const connectionsTo = async (prefix: string) => Number((await admin`select count(*)::int as n from pg_stat_activity where datname like ${`${prefix}%`}`)[0]!.n);

beforeAll(async () => {
  databases = await createTestDatabases(['catalog', ...regions]);
  admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const env = {
    ...Object.fromEntries([['GEOFED_CATALOG_DATABASE_URL', databases.urls.catalog!], ...regions.map((r) => [`GEOFED_DATABASE_URL_${r.toUpperCase()}`, databases.urls[r]!])]),
    // Twelve processes' first connections at once on a busy machine can take longer than the default 1 s to be
    // accepted; what is under test is the budget they hold, not how fast PostgreSQL forks its backends.
    GEOFED_DATABASE_CONNECT_TIMEOUT_MS: '15000',
  };
  const started = await Promise.all(subgraphs.flatMap((name) => regions.map(async (region) => [`${name}@${region}`, await startSubgraph(name, region, env)] as const)));
  for (const [key, url] of started) urls.set(key, url);
  const base = loadConfig('supergraph.yaml', {});
  const config = {
    ...base,
    routing: { ...base.routing, remoteExecution: 'fetch' as const },
    subgraphs: base.subgraphs.map((s) => ({ ...s, urls: Object.fromEntries(regions.map((r) => [r, urls.get(`${s.name}@${r}`)!])) })),
  };
  gateway = await startGateway({ config, env: gatewayEnv({}), port: 0 });
}, 180_000);
afterAll(async () => {
  await gateway?.stop();
  await Promise.all(children.map((child) => new Promise((done) => (child.exitCode !== null || child.signalCode !== null ? done(null) : (child.once('exit', done), child.kill('SIGTERM'))))));
  await admin?.end();
  await databases?.drop();
});

describe('twelve subgraph processes on one PostgreSQL', () => {
  it('all migrate and serve, within a connection budget well under max_connections', async () => {
    const prefix = new URL(databases.urls.catalog!).pathname.slice(1).replace(/_catalog$/, '');
    const answers = await Promise.all(
      Array.from({ length: 3 }, () => seedTenants.map(async (tenant) => postGraphQL(`${gateway.url}/graphql`, '{ me { name orders(first: 1) { items { product { name } } } } }', { token: await devToken(tenant.id, firstUserOf(tenant.id)!.id) }))).flat(),
    );
    expect(answers.filter((a) => a.status !== 200 || a.body.errors)).toEqual([]);
    const [maxConnections] = await admin`show max_connections`;
    const used = await connectionsTo(prefix);
    console.log(`twelve subgraph processes hold ${used} connections of max_connections ${maxConnections!.max_connections}`);
    // Four connections a handle, one handle a process (no replica here): 48 at most, half of 100.
    expect(used).toBeLessThanOrEqual(48);
  });
});

describe('a database out of connections', () => {
  it('answers a coded 503 DATABASE_UNAVAILABLE, never a 500 or wrong data', async () => {
    const role = `geofed_limited_${randomBytes(3).toString('hex')}`;
    // BYPASSRLS for the seed alone, as the usual owner (a superuser) has: requests switch to geofed_app all the same.
    await admin.unsafe(`create role ${role} login bypassrls connection limit 2`);
    try {
      await admin.unsafe(`grant all on database ${new URL(databases.urls.eu!).pathname.slice(1)} to ${role}`);
      await admin.unsafe(`grant geofed_app to ${role}`);
      const eu = postgres(databases.urls.eu!, { max: 1, onnotice: () => {} });
      // The limited role may run the migrations and the requests the region's owner runs.
      await eu.unsafe(`grant usage, create on schema public, drizzle to ${role}; grant all on all tables in schema public, drizzle to ${role}; grant all on all sequences in schema public, drizzle to ${role}`);
      await eu.end();
      const limited = Object.assign(new URL(databases.urls.eu!), { username: role }).toString();
      const url = await startSubgraph('users', 'eu', { GEOFED_DATABASE_URL_EU: limited, GEOFED_DATABASE_POOL_SIZE: '8' });
      const base = loadConfig('supergraph.yaml', {});
      // Without deduplication: identical concurrent fetches would be shared into one, and need one connection.
      const config = { ...base, routing: { ...base.routing, remoteExecution: 'fetch' as const }, subgraphLimits: { ...base.subgraphLimits, dedup: false } };
      const limitedGateway = await startGateway({
        config: { ...config, subgraphs: config.subgraphs.map((s) => ({ ...s, urls: s.name === 'users' ? { ...Object.fromEntries(regions.map((r) => [r, urls.get(`users@${r}`)!])), eu: url } : Object.fromEntries(regions.map((r) => [r, urls.get(`${s.name}@${r}`)!])) })) },
        env: gatewayEnv({}),
        port: 0,
      });
      try {
        const token = await devToken('acme', 'usr_acme_1');
        const answers = await Promise.all(Array.from({ length: 24 }, () => postGraphQL(`${limitedGateway.url}/graphql`, '{ me { name } }', { token })));
        const outcomes = answers.map((a) => (a.status === 200 ? `200 ${JSON.stringify(a.body.data)}` : `${a.status} ${a.body.errors?.[0]?.extensions?.code}`));
        expect([...new Set(outcomes)].sort()).toEqual(expect.arrayContaining(['503 DATABASE_UNAVAILABLE']));
        expect(outcomes.filter((o) => o !== '503 DATABASE_UNAVAILABLE' && o !== '200 {"me":{"name":"Ada Lovelace"}}')).toEqual([]);
      } finally {
        await limitedGateway.stop();
      }
    } finally {
      await admin.unsafe(`select pg_terminate_backend(pid) from pg_stat_activity where usename = '${role}'`);
      await admin.unsafe(`drop owned by ${role}`).catch(() => undefined);
      await admin.unsafe(`drop role if exists ${role}`).catch(() => undefined);
    }
  });
});
