import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild, type RunningChild } from '../harness/child.js';
import type { LoadRequest } from '../harness/load.js';
import { progress } from '../harness/progress.js';
import { comparisonChart, comparisonTable, machineLines, machineNote, roundsTable, uptime, writeResults } from '../harness/results.js';
import { runRounds, type Target, type TargetResult } from '../harness/rounds.js';
import { startUpstashProxy } from '../harness/upstash.js';
import { meTargets, type StackInfo } from './targets.js';

export interface StackBenchmarkOptions {
  /** Name of the result files, and prefix of the progress lines. */
  readonly name: string;
  /** First line of the Markdown. */
  readonly title: string;
  /** What the load is, for the results. */
  readonly workload: string;
  readonly drivers: readonly string[];
  readonly targetNames?: readonly string[];
  /** The load a target gets, from the one meTargets gives it (its URL and the caller of each connection). */
  readonly load?: (base: LoadRequest) => LoadRequest;
  readonly check: (request: LoadRequest, target: Target) => Promise<void>;
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly geofedDir: string;
}

/**
 * A comparison over geofed's own subgraphs (every region's, in a process of
 * their own, on each driver in turn): the gateways of meTargets in the
 * alternating harness, the Upstash proxy beside them; one result file with a
 * table per driver.
 */
export async function runStackBenchmark(options: StackBenchmarkOptions): Promise<void> {
  const { name, drivers, rounds, seconds, warmupSeconds, connections, geofedDir, load = (base) => base } = options;
  const note = machineNote();
  const dir = mkdtempSync(join(tmpdir(), `geofed-bench-${name}-`));
  const services: RunningChild[] = [];
  const byDriver: { driver: string; results: TargetResult[] }[] = [];
  try {
    const proxy = await startUpstashProxy(geofedDir);
    services.push(proxy.child);
    // Every driver's subgraphs start together (most of a start is PGlite's and the migrations'), and serve their rounds in turn.
    const started = await Promise.allSettled(
      drivers.map(async (driver) => {
        const child = await startChild({ name: `${driver} stack`, args: ['--import', 'tsx', 'bench/me-query/stack-main.ts', driver], timeoutMs: 240_000 });
        services.push(child);
        progress(`${name}: ${driver} subgraphs of every region up (pid ${child.pid})`);
        return { driver, child };
      }),
    );
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const stacks = started.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    // Every driver's gateways start at once too; each driver's rounds then find theirs started (and idle until then).
    const prepared = stacks.map(({ driver, child }) => {
      const stack = JSON.parse(child.ready) as StackInfo;
      const targets = meTargets({ stack, dir, geofedDir, upstash: { url: proxy.url, token: proxy.token } }, options.targetNames).map((target): Target => {
        const running = target.start().then((gateway) => (services.push(gateway), gateway));
        running.catch(() => undefined);
        return { ...target, start: () => running, request: (url: string) => load(target.request(url)) };
      });
      return { driver, child, targets };
    });
    for (const { driver, child, targets } of prepared) {
      try {
        byDriver.push({ driver, results: await runRounds({ label: `${name} ${driver}`, targets, rounds, seconds, warmupSeconds, connections, check: options.check }) });
      } finally {
        await child.stop(15_000);
      }
    }
    const done = { ...note, uptimeAfter: uptime() };
    const settings = `${connections} connections, ${rounds} alternating rounds of ${seconds} s after a ${warmupSeconds} s warm-up per gateway; medians of the rounds`;
    const markdown = [
      `# ${options.title}`,
      '',
      `${new Date().toISOString()}. ${options.workload}; ${settings}. Each gateway in its own process, logging off; the subgraphs of every region in one process of their own. The bare gateway signs each fetch for the tenant the client names, verifies no token and looks no tenant up (bench/peers/bare-regional-main.ts); geofed does all of README's steps 1–8.`,
      '',
      machineLines(done),
      '',
      ...byDriver.flatMap(({ driver, results }) => [`## ${driver}`, '', comparisonTable(results, results[0]!.name), '', 'Throughput of each round (req/s):', '', roundsTable(results), '']),
    ].join('\n');
    const first = byDriver[0];
    const svg = first ? comparisonChart(`${options.title} (${first.driver})`, settings, first.results) : undefined;
    const path = writeResults(name, { markdown, json: { settings: { rounds, seconds, warmupSeconds, connections }, machine: done, drivers: byDriver }, ...(svg ? { svg } : {}) });
    progress(`${name}: results in ${path}`);
  } finally {
    await Promise.all(services.map((service) => service.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}
