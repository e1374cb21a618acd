import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { startChild, type RunningChild } from './harness/child.js';
import type { LoadRequest } from './harness/load.js';
import { progress } from './harness/progress.js';
import { comparisonChart, comparisonTable, machineLines, machineNote, roundsTable, uptime, writeResults } from './harness/results.js';
import { runRounds, type TargetResult } from './harness/rounds.js';
import { startUpstashProxy } from './harness/upstash.js';
import { meTargets, type StackInfo } from './me-query/targets.js';
import { meQuery, meTenants } from './me-query/tenants.js';

// geofed's regional `me { orders { items { product } } }` through a bare @apollo/gateway and through
// geofed without rate limits, with the memory store and with the Upstash store (the REST proxy in
// front of the local Redis), each gateway in its own process, alternating over the same subgraphs,
// on PGlite and on PostgreSQL. Connection i signs in as seeded tenant i mod 4 (one per region).
// `npm run bench -- --only me-query [--drivers pglite,postgres --rounds 3 --seconds 3 --warmup 2 --connections 16 --geofed DIR]`
const { values } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    drivers: { type: 'string', default: 'pglite,postgres' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '16' },
    geofed: { type: 'string', default: '.' },
  },
});
const drivers = String(values.drivers).split(',');
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const warmupSeconds = Number(values.warmup);
const connections = Number(values.connections);
const geofedDir = resolve(String(values.geofed));

// Every answer is the caller's own orders, with no error.
const check = async ({ url, body, connectionHeaders }: LoadRequest, target: { name: string }) => {
  for (let i = 0; i < meTenants.length; i += 1) {
    const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...connectionHeaders?.(i) }, body: body ?? '' });
    const text = await response.body.text();
    if (response.statusCode !== 200 || text.includes('"errors"') || !text.includes('"orders"')) throw new Error(`${target.name} answered ${meTenants[i]!.tenantId} ${response.statusCode}: ${text.slice(0, 300)}`);
  }
};

const note = machineNote();
const dir = mkdtempSync(join(tmpdir(), 'geofed-bench-me-'));
const services: RunningChild[] = [];
const byDriver: { driver: string; results: TargetResult[] }[] = [];
try {
  const proxy = await startUpstashProxy(geofedDir);
  services.push(proxy.child);
  for (const driver of drivers) {
    const stackChild = await startChild({ name: `${driver} stack`, args: ['--import', 'tsx', 'bench/me-query/stack-main.ts', driver], timeoutMs: 180_000 });
    progress(`me-query: ${driver} subgraphs of every region up (pid ${stackChild.pid})`);
    try {
      const stack = JSON.parse(stackChild.ready) as StackInfo;
      const targets = meTargets({ stack, dir, geofedDir, upstash: { url: proxy.url, token: proxy.token } });
      byDriver.push({ driver, results: await runRounds({ label: `me-query ${driver}`, targets, rounds, seconds, warmupSeconds, connections, check }) });
    } finally {
      await stackChild.stop(15_000);
    }
  }
  const done = { ...note, uptimeAfter: uptime() };
  const settings = `${connections} connections (tenants acme/eu, globex/us, initech/apac, umbrella/latam in turn), ${rounds} alternating rounds of ${seconds} s after a ${warmupSeconds} s warm-up per gateway; medians of the rounds`;
  const markdown = [
    `# \`${meQuery}\`: geofed and a bare Apollo Gateway`,
    '',
    `${new Date().toISOString()}. ${settings}. Each gateway in its own process, logging off; the subgraphs of every region in one process of their own. The bare gateway signs each fetch for the tenant the client names, verifies no token and looks no tenant up (bench/peers/bare-regional-main.ts); geofed does all of README's steps 1–8.`,
    '',
    machineLines(done),
    '',
    ...byDriver.flatMap(({ driver, results }) => [`## ${driver}`, '', comparisonTable(results, results[0]!.name), '', 'Throughput of each round (req/s):', '', roundsTable(results), '']),
  ].join('\n');
  const svg = byDriver.map(({ driver, results }) => comparisonChart(`me query, ${driver}`, settings, results));
  const path = writeResults('me-query', { markdown, json: { settings: { rounds, seconds, warmupSeconds, connections }, machine: done, drivers: byDriver }, ...(svg.length === 1 ? { svg: svg[0]! } : {}) });
  progress(`me-query: results in ${path}`);
} finally {
  await Promise.all(services.map((service) => service.stop()));
  rmSync(dir, { recursive: true, force: true });
}
