import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabases, type TestDatabases } from './fixtures/postgres.js';
import { devToken, postGraphQL } from './fixtures/stack.js';

// `npm run region -- eu` starts what one region runs, as a team deploys it: the eu catalog instance, users,
// orders and the eu gateway, each its own process, on PostgreSQL (the catalog primary shared by every region).
let databases: TestDatabases;
let region: ChildProcess;
let output = '';
let gatewayUrl: string;

beforeAll(async () => {
  databases = await createTestDatabases(['catalog', 'eu']);
  region = spawn('npm', ['run', '-s', 'region', '--', 'eu'], {
    env: { ...process.env, GEOFED_CATALOG_DATABASE_URL: databases.urls.catalog, GEOFED_DATABASE_URL_EU: databases.urls.eu, LOG_LEVEL: 'warn', GEOFED_AUDIT_LOG: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  gatewayUrl = await new Promise<string>((resolve, reject) => {
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /region eu is serving: (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    region.stdout!.on('data', collect);
    region.stderr!.on('data', collect);
    region.once('exit', (code) => reject(new Error(`npm run region exited with ${code}: ${output}`)));
  });
});
afterAll(async () => {
  if (region && region.exitCode === null && region.signalCode === null) {
    const exited = new Promise((resolve) => region.once('exit', resolve));
    process.kill(-region.pid!, 'SIGTERM');
    await exited;
  }
  await databases?.drop();
});

describe('npm run region -- eu', () => {
  it('starts the four processes of the region', () => {
    expect(['catalog eu', 'users eu', 'orders eu', 'gateway eu'].filter((name) => !output.includes(`[${name}] `))).toEqual([]);
    expect(gatewayUrl).toBe('http://127.0.0.1:4001/graphql');
  });

  it('serves the region\'s tenants and the global catalog', async () => {
    const me = await postGraphQL(gatewayUrl, '{ me { name orders(first: 1) { items { product { name } } } } }', { token: await devToken('acme', 'usr_acme_2') });
    expect(me.body.errors).toBeUndefined();
    expect(me.body.data).toMatchObject({ me: { name: 'Bruno Keller' } });
    expect([me.headers.get('x-geofed-gateway-region'), me.headers.get('x-geofed-data-region')]).toEqual(['eu', 'eu']);
    const products = await postGraphQL(gatewayUrl, '{ products(first: 1) { id } }');
    expect(products.body).toMatchObject({ data: { products: [{ id: 'prd_01' }] } });
  });
});
