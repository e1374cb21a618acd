import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import type { LoadRequest } from './harness/load.js';
import { runStackBenchmark } from './me-query/stack-benchmark.js';
import { meQuery, meTenants } from './me-query/tenants.js';

// geofed's regional `me { orders { items { product } } }` through a bare @apollo/gateway and through
// geofed without rate limits, with the memory store and with the Upstash store (the REST proxy in
// front of the local Redis), each gateway in its own process, alternating over the same subgraphs,
// on PGlite and on PostgreSQL. Connection i signs in as seeded tenant i mod 4 (one per region).
// `npm run bench -- --only me-query [--drivers pglite,postgres --rounds 5 --seconds 3 --warmup 2 --connections 16 --geofed DIR]`
const { values } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    drivers: { type: 'string', default: 'pglite,postgres' },
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '16' },
    geofed: { type: 'string', default: '.' },
  },
});

// Every answer is the caller's own orders, with no error.
const check = async ({ url, body, connectionHeaders }: LoadRequest, target: { name: string }) => {
  for (let i = 0; i < meTenants.length; i += 1) {
    const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...connectionHeaders?.(i) }, body: body ?? '' });
    const text = await response.body.text();
    if (response.statusCode !== 200 || text.includes('"errors"') || !text.includes('"orders"')) throw new Error(`${target.name} answered ${meTenants[i]!.tenantId} ${response.statusCode}: ${text.slice(0, 300)}`);
  }
};

await runStackBenchmark({
  name: 'me-query',
  title: `\`${meQuery}\`: geofed and a bare Apollo Gateway`,
  workload: 'connection i signs in as seeded tenant i mod 4 (acme/eu, globex/us, initech/apac, umbrella/latam)',
  drivers: String(values.drivers).split(','),
  check,
  rounds: Number(values.rounds),
  seconds: Number(values.seconds),
  warmupSeconds: Number(values.warmup),
  connections: Number(values.connections),
  geofedDir: resolve(String(values.geofed)),
});
