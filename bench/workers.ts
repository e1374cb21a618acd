import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startChild } from './harness/child.js';
import { progress } from './harness/progress.js';
import { comparisonTable, machineLines, machineNote, roundsTable, uptime, writeResults } from './harness/results.js';
import { runRounds } from './harness/rounds.js';
import { geofedTarget } from './classic/targets.js';

// How geofed scales with processes: the classic workload through geofed (drop-in, every plugin on,
// memory store) as one process and as a cluster of N gateway processes on one port (node's cluster
// module, bench/peers/geofed-cluster-main.ts), alternating. On a 2-core machine that also runs the
// load and the subgraphs this is a figure, not a target.
// `npm run bench -- --only workers [--workers 1,2 --rounds 3 --seconds 4 --warmup 3 --connections 20 --geofed DIR]`
const { values } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    workers: { type: 'string', default: '1,2' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '20' },
    geofed: { type: 'string', default: '.' },
  },
});
const counts = String(values.workers).split(',').map(Number);
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const warmupSeconds = Number(values.warmup);
const connections = Number(values.connections);
const geofedDir = resolve(String(values.geofed));

const note = machineNote();
const dir = mkdtempSync(join(tmpdir(), 'geofed-bench-workers-'));
const subgraphs = await startChild({ name: 'classic subgraphs', args: ['--import', 'tsx', 'bench/classic/subgraphs-main.ts', dir] });
try {
  const { supergraphPath } = JSON.parse(subgraphs.ready) as { supergraphPath: string };
  const setup = { supergraphPath, dir, geofedDir };
  const options = { rateLimits: true, oneClient: false };
  const targets = [geofedTarget(setup, 'geofed, one process', options), ...counts.map((workers) => geofedTarget(setup, `geofed, cluster of ${workers}`, { ...options, workers }))];
  const results = await runRounds({ label: 'workers', targets, rounds, seconds, warmupSeconds, connections });
  const markdown = [
    '# geofed per process: one gateway process, and a cluster of them',
    '',
    `${new Date().toISOString()}. The classic workload (bench/classic/) through geofed in drop-in mode, every plugin on (memory store); ${connections} connections, ${rounds} alternating rounds of ${seconds} s after a ${warmupSeconds} s warm-up; medians of the rounds. A cluster's CPU and peak RSS are its primary's and its workers' together (the peaks summed). The load generator and the subgraphs share the same cores.`,
    '',
    machineLines({ ...note, uptimeAfter: uptime() }),
    '',
    comparisonTable(results, results[0]!.name),
    '',
    roundsTable(results),
    '',
  ].join('\n');
  progress(`workers: results in ${writeResults('workers', { markdown, json: { settings: { counts, rounds, seconds, warmupSeconds, connections }, results } })}`);
} finally {
  await subgraphs.stop();
  rmSync(dir, { recursive: true, force: true });
}
