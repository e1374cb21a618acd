import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';

// `npm run bench [-- --only classic|me-query|cost-lookup|cdn|consistency|geo|flood|budget|profile|mixed|workers|events]`: every benchmark in its own process,
// writing its results to bench/results/. Never part of `npm test`. `consistency` (a real streaming replica: a minute and more),
// `geo` (several minutes on the seed's
// round trips), `flood` (about a minute of floods) and `budget` (a few minutes of store latency and outages) run only when named.
// `--only memory` (a flood of a million distinct keys on one gateway process: tens of minutes) and `--only start`
// (npm start's cold, warm and in-memory starts, a few minutes) too.
// `--only profile` (CPU profiles of geofed and the bare Apollo Gateway on the classic workload), `--only mixed` (persisted GETs,
// signed-in reads and mutations), `--only workers` (geofed as a cluster of N processes) and `--only events` (catalog
// invalidation latency in every region, webhook throughput; NATS and PostgreSQL, about a minute) too.
// The terminal shows one line per step: a benchmark's own output (its tables, any server's logs) goes to
// bench/results/run-<time>.log, and the progress lines it writes to file descriptor 3 (bench/harness/progress.ts) here.
const { values } = parseArgs({ allowPositionals: true, strict: false, options: { only: { type: 'string' } } });
const defaults = ['classic', 'me-query', 'cost-lookup', 'cdn'];
const onlyWhenNamed = ['consistency', 'geo', 'flood', 'budget', 'memory', 'start', 'profile', 'mixed', 'workers', 'events'];
const benchmarks = values.only === undefined ? defaults : [...defaults, ...onlyWhenNamed].filter((name) => values.only === name);
mkdirSync('bench/results', { recursive: true });
const log = `bench/results/run-${new Date().toISOString().replace(/[:.]/g, '-')}.log`;
const seconds = (since: number) => Math.round((Date.now() - since) / 1000);
const started = Date.now();
for (const name of benchmarks) {
  const before = new Set(readdirSync('bench/results'));
  const since = Date.now();
  console.log(`${name}: running (its output goes to ${log})`);
  const out = openSync(log, 'a');
  const result = spawnSync(process.execPath, ['--import', 'tsx', `bench/${name}.ts`, ...process.argv.slice(2)], { stdio: ['ignore', out, out, 1], env: { ...process.env, GEOFED_BENCH_PROGRESS_FD: '3' } });
  closeSync(out);
  const written = readdirSync('bench/results').filter((file) => !before.has(file) && file.endsWith('.md'));
  console.log(`${name}: ${result.status === 0 ? 'done' : `failed (${result.status ?? result.signal}), see ${log}`} in ${seconds(since)} s${written.map((file) => ` bench/results/${file}`).join('')}`);
  if (result.status !== 0) process.exit(result.status ?? 1);
}
console.log(`npm run bench: ${benchmarks.join(', ')} in ${seconds(started)} s`);
