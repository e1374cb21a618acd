import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import type { LoadRequest } from './harness/load.js';
import { runStackBenchmark } from './me-query/stack-benchmark.js';
import { meTenants } from './me-query/tenants.js';
import { mixedSteps, registerCatalogQuery } from './mixed/steps.js';

// A mixed workload over geofed's own subgraphs: per ten requests, five anonymous persisted-query GETs
// of the catalog, four signed-in reads of the caller's orders and one mutation (bench/mixed/steps.ts),
// through a bare @apollo/gateway and geofed with the memory and the Upstash store, alternating.
// `npm run bench -- --only mixed [--drivers pglite --rounds 3 --seconds 3 --warmup 2 --connections 16 --geofed DIR]`
const { values } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    drivers: { type: 'string', default: 'pglite' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '16' },
    geofed: { type: 'string', default: '.' },
  },
});

// The persisted query is registered (an anonymous POST with its text), then one pass of the mix as
// each tenant in turn must answer every request without an error.
const check = async ({ url, connectionHeaders }: LoadRequest, target: { name: string }) => {
  const post = (body: string, headers: Record<string, string> = {}) => request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  await (await post(registerCatalogQuery)).body.text();
  for (let i = 0; i < meTenants.length; i += 1) {
    for (const step of mixedSteps) {
      const headers = { ...step.headers, ...(step.anonymous ? {} : connectionHeaders?.(i)) };
      const response = step.method === 'GET' ? await request(`${url}${step.search ?? ''}`, { headers }) : await post(step.body ?? '', headers);
      const text = await response.body.text();
      if (response.statusCode !== 200 || text.includes('"errors"')) throw new Error(`${target.name} answered a ${step.method} as ${meTenants[i]!.tenantId} ${response.statusCode}: ${text.slice(0, 300)}`);
    }
  }
};

await runStackBenchmark({
  name: 'mixed',
  title: 'A mixed workload: anonymous persisted GETs, signed-in reads, mutations',
  workload: 'per ten requests of a connection, five anonymous persisted-query GETs of the catalog, four signed-in `me` reads and one `updateProfile` mutation, each pass signed in as the next seeded tenant',
  drivers: String(values.drivers).split(','),
  targetNames: ['bare Apollo Gateway', 'geofed, memory store', 'geofed, Upstash store'],
  load: (base) => ({ ...base, sequence: mixedSteps }),
  check,
  rounds: Number(values.rounds),
  seconds: Number(values.seconds),
  warmupSeconds: Number(values.warmup),
  connections: Number(values.connections),
  geofedDir: resolve(String(values.geofed)),
});
