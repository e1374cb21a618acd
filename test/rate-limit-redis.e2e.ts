import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Redis as DirectRedis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GeofedConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway } from '../gateway/gateway.js';
import { devToken, postGraphQL, startTestStack, type TestStack } from './fixtures/stack.js';
import { startGatewayProcess, writeGatewayConfig } from './fixtures/gateway-process.js';
import { startUpstashRestProxy, type UpstashRestProxy } from '../dev/upstash-rest-proxy.js';

// Budgets shared by every gateway through Upstash (our REST proxy in front of the real Redis on 6379).
const prefix = `geofed:test:${randomBytes(4).toString('hex')}`;
const admitted = 37;
let t: TestStack;
let proxy: UpstashRestProxy;
let redis: DirectRedis;
const children: ChildProcess[] = [];

beforeAll(async () => {
  t = await startTestStack('postgres');
  proxy = await startUpstashRestProxy();
  redis = new DirectRedis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect().catch((error: Error) => {
    throw new Error(`Redis on 127.0.0.1:6379 is needed by this suite (run .ci/run, or start it): ${error.message}`);
  });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  const keys = await redis?.keys(`${prefix}*`);
  if (keys?.length) await redis.del(...keys);
  redis?.disconnect();
  await proxy?.stop();
  await t?.stop();
});

/** Each test's buckets under a prefix of their own (all under `prefix`, which afterAll clears). */
const testPrefix = () => `${prefix}:${randomBytes(4).toString('hex')}`;
const withBudgets = (config: GeofedConfig, overrides: Partial<GeofedConfig['rateLimits']>): GeofedConfig => ({
  ...config,
  rateLimits: { ...config.rateLimits, keyPrefix: testPrefix(), ...overrides },
});

describe('budgets in Upstash Redis', () => {
  it('admits exactly K of 200 concurrent operations across two gateway processes', async () => {
    // Closed and patient: under a loaded CI machine a debit past the timeout would otherwise be admitted unpriced (fail open).
    const keyPrefix = testPrefix();
    const configPath = writeGatewayConfig(t.stack, { rate_limits: { key_prefix: keyPrefix, on_store_error: 'closed', store_timeout_ms: 10_000, default_plan: 'free', plans: { free: { capacity: 1000, refill_per_second: 0 }, pro: { capacity: admitted, refill_per_second: 0 } } } });
    const upstash = { UPSTASH_REDIS_REST_URL: proxy.url, UPSTASH_REDIS_REST_TOKEN: proxy.token };
    const urls = await Promise.all([startGatewayProcess(configPath, upstash, children), startGatewayProcess(configPath, upstash, children)]);
    const token = await devToken('acme', 'usr_acme_1');
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => postGraphQL(urls[i % 2]!, '{ products(first: 1) { id } }', { token })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(admitted);
    expect(statuses.filter((s) => s === 429)).toHaveLength(200 - admitted);
    const state = await redis.hgetall(`${keyPrefix}:{acme}:us`);
    expect(Number(state.tokens)).toBe(0);
  });

  it('costs one round trip to the store per operation', async () => {
    const gateway = await startGateway({ config: withBudgets(t.stack.config, {}), env: gatewayEnv({ UPSTASH_REDIS_REST_URL: proxy.url, UPSTASH_REDIS_REST_TOKEN: proxy.token }), port: 0 });
    try {
      const token = await devToken('globex', 'usr_globex_1');
      await postGraphQL(`${gateway.url}/graphql`, '{ products(first: 1) { id } }', { token });
      const before = proxy.commandCount();
      for (let i = 0; i < 5; i += 1) expect((await postGraphQL(`${gateway.url}/graphql`, '{ products(first: 1) { id } }', { token })).status).toBe(200);
      expect(proxy.commandCount() - before).toBe(5);
    } finally {
      await gateway.stop();
    }
  });

  it.each(['open', 'closed', 'unmetered'] as const)('follows on_store_error: %s when the store never answers', async (policy) => {
    const sockets: Socket[] = [];
    const hole: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((done) => hole.listen(0, '127.0.0.1', done));
    const deadUrl = `http://127.0.0.1:${(hole.address() as { port: number }).port}`;
    const gateway = await startGateway({
      config: withBudgets(t.stack.config, { onStoreError: policy, storeTimeoutMs: 200 }),
      env: gatewayEnv({ UPSTASH_REDIS_REST_URL: deadUrl, UPSTASH_REDIS_REST_TOKEN: 'x' }),
      port: 0,
    });
    try {
      // The store accepts the connection and never answers: an answer at all is the timeout at work.
      const result = await postGraphQL(`${gateway.url}/graphql`, '{ products(first: 1) { id } }', { token: await devToken('globex', 'usr_globex_1') });
      if (policy !== 'closed') {
        // open: admitted by this gateway's local share of a bucket it never saw; unmetered: admitted unpriced.
        expect(result.status).toBe(200);
        expect(result.headers.get('ratelimit-remaining')).toBeNull();
      } else {
        expect(result.status).toBe(503);
        expect(result.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMIT_UNAVAILABLE');
      }
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`geofed_rate_limit_store_errors_total\\{policy="${policy}"\\} [1-9]`));
    } finally {
      await gateway.stop();
      for (const socket of sockets) socket.destroy();
      await new Promise((done) => hole.close(done));
    }
  });
});
