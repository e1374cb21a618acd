import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { request } from 'undici';
import { startBareGateway } from './bare-gateway.js';
import { percentile, report } from './report.js';
import { devToken, startTestStack, type Driver } from '../test/fixtures/stack.js';

// The `me` query through geofed and through a bare @apollo/gateway on the same subgraphs, in one run.
// `npm run bench -- --only me-query [--drivers pglite,postgres --requests 1000 --seconds 5]`
const { values } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    drivers: { type: 'string', default: 'pglite,postgres' },
    requests: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '5' },
  },
});
const sequentialRequests = Number(values.requests);
const loadSeconds = Number(values.seconds);
const drivers = String(values.drivers).split(',') as Driver[];
const meQuery = '{ me { name email orders { totalCents items { quantity product { name priceCents } } } } }';

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
  const t = await startTestStack(driver);
  const bare = await startBareGateway(t.stack.config, 'eu', { tenantId: 'acme', userId: 'usr_acme_1' });
  try {
    const token = await devToken('acme', 'usr_acme_1');
    const targets = [
      { target: 'bare @apollo/gateway', url: `${bare.url}/graphql`, headers: {} as Record<string, string> },
      { target: 'geofed', url: t.graphqlUrl, headers: { authorization: `Bearer ${token}` } },
    ];
    for (const { target, url, headers } of targets) {
      const latency = await latencies(url, headers);
      const load = await throughput(url, headers);
      rows.push({ driver, target, p50Ms: latency.p50, p99Ms: latency.p99, requestsPerSecond: load.rps, errors: load.errors });
    }
  } finally {
    await bare.close();
    await t.stop();
  }
}

const lines = ['| driver | target | p50 ms | p99 ms | req/s (16 conns) | errors | p50 vs bare | req/s vs bare |', '|---|---|---|---|---|---|---|---|'];
for (const row of rows) {
  const bare = rows.find((r) => r.driver === row.driver && r.target.startsWith('bare'))!;
  lines.push(`| ${row.driver} | ${row.target} | ${row.p50Ms.toFixed(2)} | ${row.p99Ms.toFixed(2)} | ${row.requestsPerSecond.toFixed(0)} | ${row.errors} | ${(row.p50Ms / bare.p50Ms).toFixed(2)}× | ${(row.requestsPerSecond / bare.requestsPerSecond).toFixed(2)}× |`);
}
report('me-query', `me query (acme, eu; ${sequentialRequests} sequential requests for latency, ${loadSeconds}s of load for throughput)`, lines.join('\n'), rows);
