import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { request } from 'undici';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { startUpstashRestProxy } from '../dev/upstash-rest-proxy.js';
import { startBareGateway } from './bare-gateway.js';
import { percentile, report } from './report.js';
import { devToken, startTestStack, type Driver } from '../test/fixtures/stack.js';

// The `me { orders { items { product } } }` query through a bare @apollo/gateway and through geofed
// without limits, with the memory store and with the Redis store (Upstash REST proxy in front of the
// local Redis), all over the same subgraphs, in one run.
// `npm run bench -- --only me-query [--drivers postgres,pglite --requests 1000 --seconds 5]`
const { values } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    drivers: { type: 'string', default: 'postgres,pglite' },
    requests: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '5' },
  },
});
const sequentialRequests = Number(values.requests);
const loadSeconds = Number(values.seconds);
const drivers = String(values.drivers).split(',') as Driver[];
const meQuery = '{ me { orders { items { product { name } } } } }';

interface Row { driver: Driver; target: string; p50Ms: number; p99Ms: number; requestsPerSecond: number; errors: number }

async function latencies(url: string, headers: Record<string, string>): Promise<{ p50: number; p99: number }> {
  const body = JSON.stringify({ query: meQuery });
  const send = async () => {
    const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const text = await response.body.text();
    if (response.statusCode !== 200 || text.includes('"errors"')) throw new Error(`unexpected answer ${response.statusCode}: ${text.slice(0, 200)}`);
  };
  for (let i = 0; i < 100; i += 1) await send();
  const samples: number[] = [];
  for (let i = 0; i < sequentialRequests; i += 1) {
    const started = process.hrtime.bigint();
    await send();
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

async function throughput(url: string, headers: Record<string, string>): Promise<{ rps: number; errors: number }> {
  const result = await autocannon({ url, method: 'POST', connections: 16, duration: loadSeconds, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: meQuery }) });
  return { rps: result.requests.average, errors: result.errors + result.non2xx };
}

const rows: Row[] = [];
for (const driver of drivers) {
  // Budgets large enough that the load measures the limiter's work, never its refusals.
  const t = await startTestStack(driver, {
    configure: (config) => ({
      ...config,
      rateLimits: { ...config.rateLimits, plans: Object.fromEntries(Object.keys(config.rateLimits.plans).map((plan) => [plan, { capacity: 1e12, refillPerSecond: 1e9, regions: {} }])) },
    }),
  });
  const bare = await startBareGateway(t.stack.config, 'eu', { tenantId: 'acme', userId: 'usr_acme_1' });
  const proxy = await startUpstashRestProxy();
  const gateways: RunningGateway[] = [];
  try {
    const variant = async (overrides: Partial<typeof t.stack.config.rateLimits>, env: NodeJS.ProcessEnv) => {
      const gateway = await startGateway({ config: { ...t.stack.config, rateLimits: { ...t.stack.config.rateLimits, ...overrides } }, env: gatewayEnv(env), port: 0 });
      gateways.push(gateway);
      return `${gateway.url}/graphql`;
    };
    const token = await devToken('acme', 'usr_acme_1');
    const auth = { authorization: `Bearer ${token}` };
    const targets = [
      { target: 'bare @apollo/gateway', url: `${bare.url}/graphql`, headers: {} as Record<string, string> },
      { target: 'geofed, no limits', url: await variant({ enabled: false }, {}), headers: auth },
      { target: 'geofed, memory store', url: await variant({}, {}), headers: auth },
      { target: 'geofed, Redis store', url: await variant({ keyPrefix: `geofed:bench:${Date.now()}` }, { UPSTASH_REDIS_REST_URL: proxy.url, UPSTASH_REDIS_REST_TOKEN: proxy.token }), headers: auth },
    ];
    for (const { target, url, headers } of targets) {
      const latency = await latencies(url, headers);
      const load = await throughput(url, headers);
      rows.push({ driver, target, p50Ms: latency.p50, p99Ms: latency.p99, requestsPerSecond: load.rps, errors: load.errors });
    }
  } finally {
    for (const gateway of gateways) await gateway.stop();
    await proxy.stop();
    await bare.close();
    await t.stop();
  }
}

const lines = ['| driver | target | p50 ms | p99 ms | req/s (16 conns) | errors | p50 vs bare | req/s vs bare |', '|---|---|---|---|---|---|---|---|'];
for (const row of rows) {
  const bare = rows.find((r) => r.driver === row.driver && r.target.startsWith('bare'))!;
  lines.push(`| ${row.driver} | ${row.target} | ${row.p50Ms.toFixed(2)} | ${row.p99Ms.toFixed(2)} | ${row.requestsPerSecond.toFixed(0)} | ${row.errors} | ${(row.p50Ms / bare.p50Ms).toFixed(2)}× | ${(row.requestsPerSecond / bare.requestsPerSecond).toFixed(2)}× |`);
}
report('me-query', `me { orders { items { product { name } } } } (acme, eu; ${sequentialRequests} sequential requests for latency, ${loadSeconds}s of load for throughput)`, lines.join('\n'), rows);
