import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { groupedBarChart } from '../svg-chart.js';
import type { TargetResult } from './rounds.js';

/** What the figures were measured on: the results say it, since another agent's tests may share the cores. */
export interface MachineNote {
  readonly cores: number;
  readonly node: string;
  readonly commit: string;
  /** `uptime` at the start and at the end of the benchmark. */
  readonly uptimeBefore: string;
  readonly uptimeAfter?: string;
}

export function machineNote(): MachineNote {
  // A run from an exported tree (git archive) has no repository: GEOFED_BENCH_COMMIT names its commit.
  return { cores: cpus().length, node: process.version, commit: process.env.GEOFED_BENCH_COMMIT ?? git(['rev-parse', '--short', 'HEAD']), uptimeBefore: uptime() };
}

export function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${loadavg().map((n) => n.toFixed(2)).join(', ')}`;
  }
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

const mb = (bytes: number) => (bytes / 1_048_576).toFixed(0);
const ratio = (value: number, base: number) => (base > 0 && Number.isFinite(value) ? `${(value / base).toFixed(2)}×` : 'n/a');

/** The medians of each target beside the baseline's: throughput and CPU as ratios to `baseline`. */
export function comparisonTable(results: readonly TargetResult[], baseline: string): string {
  const base = results.find((r) => r.name === baseline);
  const lines = [
    `| gateway | req/s | vs ${baseline} | p50 ms | p99 ms | CPU s / 1000 req | CPU vs ${baseline} | peak RSS MB | answered | errors |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const answered = r.samples.reduce((sum, s) => sum + s.requests, 0);
    lines.push(`| ${r.name} | ${r.requestsPerSecond.toFixed(1)} | ${ratio(r.requestsPerSecond, base?.requestsPerSecond ?? 0)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.cpuSecondsPer1000.toFixed(2)} | ${ratio(r.cpuSecondsPer1000, base?.cpuSecondsPer1000 ?? 0)} | ${mb(r.peakRssBytes)} | ${answered} | ${r.errors} |`);
  }
  // A round's CPU includes the partial work of the requests still in flight when it stops (one per connection).
  const fewestPerRound = Math.min(...results.map((r) => r.samples.reduce((sum, s) => sum + s.requests, 0) / Math.max(1, r.samples.length)));
  if (fewestPerRound < 200) lines.push('', `Few answers per round (under 200 for some): the CPU per request then carries the cut-off requests of each round's end, and the medians are coarse.`);
  return lines.join('\n');
}

/** Every round's throughput, one row per target: the spread behind each median. */
export function roundsTable(results: readonly TargetResult[]): string {
  const rounds = Math.max(0, ...results.map((r) => r.samples.length));
  const lines = [`| gateway | ${Array.from({ length: rounds }, (_, i) => `round ${i + 1}`).join(' | ')} |`, `|---|${'---:|'.repeat(rounds)}`];
  for (const r of results) lines.push(`| ${r.name} | ${r.samples.map((s) => s.requestsPerSecond.toFixed(0)).join(' | ')} |`);
  return lines.join('\n');
}

/** Throughput, latency and CPU per request of each target, as three panels. */
export function comparisonChart(title: string, subtitle: string, results: readonly TargetResult[]): string {
  const groups = (values: (r: TargetResult) => { value: number; whisker?: number }[]) => results.map((r) => ({ label: shortName(r.name), values: values(r) }));
  return groupedBarChart({
    title,
    subtitle,
    width: Math.max(900, results.length * 150),
    plotHeight: 220,
    panels: [
      { title: 'Throughput (median of rounds)', xLabel: 'gateway', yLabel: 'requests per second', series: ['req/s'], groups: groups((r) => [{ value: r.requestsPerSecond }]) },
      { title: 'Latency (median of rounds)', xLabel: 'gateway', yLabel: 'ms', series: ['p50', 'p99'], groups: groups((r) => [{ value: r.p50Ms }, { value: r.p99Ms }]) },
      { title: 'Gateway CPU per request', xLabel: 'gateway', yLabel: 'CPU ms per request', series: ['CPU ms / request'], groups: groups((r) => [{ value: r.cpuSecondsPer1000 }]) },
    ],
  });
}

function shortName(name: string): string {
  return name.length > 28 ? `${name.slice(0, 27)}…` : name;
}

/** Writes `bench/results/<name>-<stamp>.md`, `.json` and, when given, `.svg`; returns the Markdown's path. */
export function writeResults(name: string, files: { markdown: string; json: unknown; svg?: string }): string {
  mkdirSync('bench/results', { recursive: true });
  const base = `bench/results/${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  writeFileSync(`${base}.md`, files.markdown);
  writeFileSync(`${base}.json`, `${JSON.stringify(files.json, null, 2)}\n`);
  if (files.svg !== undefined) writeFileSync(`${base}.svg`, files.svg);
  return `${base}.md`;
}

/** The lines every result file starts with: when, on what, under which load. */
export function machineLines(note: MachineNote): string {
  return [
    `- machine: ${note.cores} cores, Node ${note.node}, geofed ${note.commit}`,
    `- load before: \`${note.uptimeBefore}\``,
    ...(note.uptimeAfter ? [`- load after: \`${note.uptimeAfter}\``] : []),
  ].join('\n');
}
