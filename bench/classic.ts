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
import { classicTargetNames, classicTargets, type ClassicTargetName } from './classic/targets.js';

// The classic federation workload of the public gateway benchmark (accounts, inventory, products,
// reviews; the deep query, about 70 KB an answer; 20 connections) through every gateway, each in its
// own process, alternating over the same subgraph servers: `npm run bench -- --only classic
// [--rounds 5 --seconds 3 --warmup 2 --connections 20 --targets 0,3,5 --geofed DIR]`.
// --targets picks entries of classicTargetNames by index; --geofed runs another checkout's geofed.
const { values } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '20' },
    targets: { type: 'string' },
    geofed: { type: 'string', default: '.' },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const warmupSeconds = Number(values.warmup);
const connections = Number(values.connections);
const geofedDir = resolve(String(values.geofed));
const names: ClassicTargetName[] = values.targets === undefined ? [...classicTargetNames] : String(values.targets).split(',').map((i) => classicTargetNames[Number(i)]!).filter(Boolean);

/** The comparisons issue 15 sets targets for, where both sides ran: throughput (and CPU per request) of one over the other. */
function keyRatios(results: readonly TargetResult[]): string {
  const of = (name: ClassicTargetName) => results.find((r) => r.name === name);
  const pairs: [ClassicTargetName, ClassicTargetName][] = [
    ['geofed, plugins on (memory)', 'bare Apollo Gateway'],
    ['Hive Gateway', 'bare Apollo Gateway'],
    ['geofed, plugins on (memory)', 'Hive Gateway'],
    ['geofed, plugins on (memory)', 'geofed, plugins off'],
    ['geofed, plugins on (Upstash)', 'geofed, plugins on (memory)'],
    ['geofed, plugins on, dedup', 'Hive Gateway, inbound dedup'],
  ];
  const lines = pairs.flatMap(([a, b]) => {
    const x = of(a);
    const y = of(b);
    if (!x || !y) return [];
    return [`- ${a} / ${b}: throughput ${(x.requestsPerSecond / y.requestsPerSecond).toFixed(2)}×, CPU per request ${(x.cpuSecondsPer1000 / y.cpuSecondsPer1000).toFixed(2)}×`];
  });
  return lines.join('\n');
}

const note = machineNote();
const dir = mkdtempSync(join(tmpdir(), 'geofed-bench-classic-'));
const services: RunningChild[] = [];
try {
  const subgraphs = await startChild({ name: 'classic subgraphs', args: ['--import', 'tsx', 'bench/classic/subgraphs-main.ts', dir] });
  services.push(subgraphs);
  const { supergraphPath } = JSON.parse(subgraphs.ready) as { supergraphPath: string };
  progress(`classic: subgraphs accounts, products, inventory, reviews up (pid ${subgraphs.pid})`);
  let upstash: { url: string; token: string } | undefined;
  if (names.includes('geofed, plugins on (Upstash)')) {
    const proxy = await startUpstashProxy(geofedDir);
    services.push(proxy.child);
    upstash = { url: proxy.url, token: proxy.token };
    progress(`classic: Upstash REST proxy in front of redis://127.0.0.1:6379 (pid ${proxy.child.pid})`);
  }

  // Every gateway must answer the data the baseline answers (extensions aside), about 70 KB.
  let expected: string | undefined;
  const check = async ({ url, body }: LoadRequest, target: { name: string }) => {
    const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body ?? '' });
    const text = await response.body.text();
    const data = JSON.stringify((JSON.parse(text) as { data?: unknown }).data);
    if (response.statusCode !== 200 || text.includes('"errors"')) throw new Error(`${target.name} answered ${response.statusCode}: ${text.slice(0, 300)}`);
    expected ??= data;
    if (data !== expected) throw new Error(`${target.name} answered other data than ${names[0]}`);
    progress(`classic: ${target.name} answers the deep query (${(text.length / 1024).toFixed(1)} KB)`);
  };
  const results = await runRounds({ label: 'classic', targets: classicTargets({ supergraphPath, dir, geofedDir, ...(upstash ? { upstash } : {}) }, names), rounds, seconds, warmupSeconds, connections, check });

  const baseline = names[0]!;
  const done = { ...note, uptimeAfter: uptime() };
  const settings = `${connections} connections, ${rounds} alternating rounds of ${seconds} s after a ${warmupSeconds} s warm-up per gateway; medians of the rounds`;
  const markdown = [
    '# Classic federation workload: gateways side by side',
    '',
    `${new Date().toISOString()}. The deep query (users → reviews → product → reviews → author → reviews → product, and topProducts), about 70 KB an answer, over accounts, products, inventory and reviews subgraphs (bench/classic/), ${settings}. Each gateway in its own process, logging off, NODE_ENV=production.`,
    '',
    machineLines(done),
    '',
    comparisonTable(results, baseline),
    '',
    keyRatios(results),
    '',
    'Throughput of each round (req/s):',
    '',
    roundsTable(results),
    '',
    'geofed in drop-in mode (`geofed gateway --supergraph`): "plugins on" is operation limits, cost, rate limits (memory store, or Upstash REST through dev/upstash-rest-proxy-cli.ts to the local Redis), residency and CDN headers; "plugins off" is rate_limits.enabled: false (limits, cost, residency and CDN headers cannot be turned off). Every connection is its own anonymous client (x-forwarded-for), so geofed\'s per-caller deduplication (of queries and of fetches) never applies, except in "dedup", where the 20 connections are one client. Hive Gateway keeps its subgraph transport\'s default (deduplicateInflightRequests on); "inbound dedup" adds inboundInflightRequestDeduplication.',
    '',
  ].join('\n');
  const svg = comparisonChart('Classic federation workload', `${settings}; ${done.cores} cores`, results);
  const path = writeResults('classic', { markdown, json: { settings: { rounds, seconds, warmupSeconds, connections }, machine: done, baseline, results }, svg });
  progress(`classic: results in ${path} (and .json, .svg)`);
} finally {
  await Promise.all(services.map((service) => service.stop()));
  rmSync(dir, { recursive: true, force: true });
}
