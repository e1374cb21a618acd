import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstashRestProxy, type UpstashRestProxy } from '../dev/upstash-rest-proxy.js';
import { firstUserOf } from '../subgraphs/index.js';
import { devToken, startTestStack, type TestStack } from './fixtures/stack.js';

// Stores keep PII at home: a registered document that writes a tenant's data inline is kept only in its home
// region's store, never in the store every region shares. Five stores, each an Upstash endpoint in front of a
// Redis database of its own, so a scan of each shows what it holds.
const regions = ['us', 'eu', 'apac', 'latam'];
const databases: Record<string, number> = { shared: 11, us: 12, eu: 13, apac: 14, latam: 15 };
const proxies = new Map<string, UpstashRestProxy>();
const redis = new Map<string, Redis>();
let t: TestStack;

beforeAll(async () => {
  for (const [store, db] of Object.entries(databases)) {
    const client = new Redis({ host: '127.0.0.1', port: 6379, db, lazyConnect: true });
    await client.connect();
    await client.flushdb();
    redis.set(store, client);
    proxies.set(store, await startUpstashRestProxy({ redisUrl: `redis://127.0.0.1:6379/${db}` }));
  }
  const env: Record<string, string> = { UPSTASH_REDIS_REST_URL: proxies.get('shared')!.url, UPSTASH_REDIS_REST_TOKEN: proxies.get('shared')!.token };
  for (const region of regions) {
    env[`UPSTASH_REDIS_REST_URL_${region.toUpperCase()}`] = proxies.get(region)!.url;
    env[`UPSTASH_REDIS_REST_TOKEN_${region.toUpperCase()}`] = proxies.get(region)!.token;
  }
  t = await startTestStack('pglite', { gateways: 'per-region', env });
});
afterAll(async () => {
  await t?.stop();
  for (const proxy of proxies.values()) await proxy.stop();
  for (const client of redis.values()) client.disconnect();
});

/** Every value each store holds, by store. */
async function scan(): Promise<Record<string, string[]>> {
  const held: Record<string, string[]> = {};
  for (const [store, client] of redis) {
    const keys = await client.keys('*');
    held[store] = keys.length === 0 ? [] : ((await client.mget(...keys)).filter((v): v is string => v !== null));
  }
  return held;
}

const persisted = (query: string) => ({ persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') } });

async function post(gatewayRegion: string, body: object, token?: string) {
  const response = await fetch(`${t.stack.gateways.get(gatewayRegion)!.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] } };
}

describe('persisted documents and residency', () => {
  it('keeps a document with a tenant\'s data inline only in the home region\'s store, and serves it by hash', async () => {
    const marker = `Ada Marker ${randomUUID().slice(0, 8)}`;
    const query = `mutation Rename { updateProfile(name: "${marker}") { name } }`;
    const token = await devToken('acme', firstUserOf('acme')!.id);
    // Registered through the us gateway: forwarded, it is the eu gateway that registers it.
    expect(await post('us', { extensions: persisted(query) }, token)).toMatchObject({ body: { errors: [{ extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] } });
    expect(await post('us', { query, extensions: persisted(query) }, token)).toEqual({ status: 200, body: { data: { updateProfile: { name: marker } }, extensions: expect.any(Object) } });
    expect(await post('eu', { extensions: persisted(query) }, token)).toEqual({ status: 200, body: { data: { updateProfile: { name: marker } }, extensions: expect.any(Object) } });
    const held = await scan();
    expect(Object.fromEntries(Object.entries(held).map(([store, values]) => [store, values.some((v) => v.includes(marker))]))).toEqual({ shared: false, us: false, eu: true, apac: false, latam: false });
  });

  it('keeps a document without a tenant\'s data in the shared store, where every region finds it', async () => {
    const query = `query Catalog${randomUUID().replaceAll('-', '')} { products(first: 2) { id } }`;
    expect(await post('apac', { query, extensions: persisted(query) })).toMatchObject({ status: 200 });
    expect(await post('latam', { extensions: persisted(query) })).toMatchObject({ status: 200, body: { data: { products: [{ id: 'prd_01' }, { id: 'prd_02' }] } } });
    const held = await scan();
    expect(Object.fromEntries(Object.entries(held).map(([store, values]) => [store, values.includes(query)]))).toEqual({ shared: true, us: false, eu: false, apac: false, latam: false });
  });
});
