import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

// `npm run bench [-- --only me-query|cost-lookup|consistency|cdn|geo|flood|budget]`: every benchmark in its own process, each printing
// its table and writing it to bench/results/. Never part of `npm test`. `geo` (several minutes on the seed's
// round trips), `flood` (about a minute of floods) and `budget` (a few minutes of store latency and outages) run only when named.
// `--only memory` (a flood of a million distinct keys on one gateway process: tens of minutes) too.
const { values } = parseArgs({ allowPositionals: true, strict: false, options: { only: { type: 'string' } } });
const defaults = ['me-query', 'cost-lookup', 'consistency', 'cdn'];
const onlyWhenNamed = ['geo', 'flood', 'budget', 'memory'];
const benchmarks = values.only === undefined ? defaults : [...defaults, ...onlyWhenNamed].filter((name) => values.only === name);
for (const name of benchmarks) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', `bench/${name}.ts`, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
