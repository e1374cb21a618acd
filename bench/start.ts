import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { freePort } from '../dev/ports.js';
import { progress } from './harness/progress.js';
import { machineNote, uptime } from './harness/results.js';
import { percentile, report } from './report.js';

// `npm run bench -- --only start [--runs 5] [--repo DIR]...`: how long `npm start` takes to its banner, as a
// user runs it (`npm start -s` in a process group of its own), cold (an empty data folder), warm (the same folder
// again), in memory (--memory), and once as the first start on a machine (a fresh TMPDIR: neither PGlite's
// initdb templates nor tsx's cache of transformed files). Each start is timed from spawn to the banner line,
// beside the banner's own figure and the moment of each progress line; then SIGINT to the group, as Ctrl-C sends
// it, and the exit is awaited. The CPU seconds the node process had used by its banner (Linux: /proc) tell what a
// start costs apart from what else the machine was doing: on an idle machine the main thread's is about the least
// a start can take. Each `--repo` is a checkout to time (default this one): with two (a commit before a change
// and after it), every round runs each in turn, so that both meet the same load of a machine that is shared.
const { values } = parseArgs({ allowPositionals: true, strict: false, options: { runs: { type: 'string', default: '5' }, repo: { type: 'string', multiple: true } } });
const runs = Number(values.runs);
/** Past this a start is reported as hung rather than waited for. */
const startDeadlineMs = 180_000;

type Mode = 'first on the machine' | 'cold' | 'warm' | 'memory';

/** A checkout to time: its folder, its commit and its supergraph.yaml on free ports. */
interface Checkout {
  readonly dir: string;
  readonly commit: string;
  readonly config: string;
}

interface Start {
  readonly commit: string;
  readonly mode: Mode;
  /** From spawn to the line "geofed is ready in". */
  readonly wallMs: number;
  /** The banner's own figure: seconds since the process started (or, before it did, since its start function ran). */
  readonly bannerSeconds: number;
  /** Each progress line with the ms since spawn it arrived at. */
  readonly progress: readonly { readonly line: string; readonly atMs: number }[];
  /** CPU seconds the node process had used by the banner, its main thread's and all its threads' (undefined without /proc). */
  readonly cpu: { readonly mainThread: number; readonly process: number } | undefined;
  /** From SIGINT to exit. */
  readonly stopMs: number;
  /** npm's exit code, or the signal that ended it (npm ends itself with the SIGINT it was sent, once its child has exited). */
  readonly exit: number | string;
  /** The start process logged "drained and stopped": it exited 0 on the SIGINT. */
  readonly drained: boolean;
}

/** USER_HZ, the unit of /proc's CPU times: 100 on every Linux. */
const clockTicksPerSecond = 100;

/** utime + stime of /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat, in seconds. */
function cpuSeconds(statFile: string): number {
  const stat = readFileSync(statFile, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

/** The process under npm (npm, then sh, then node) that runs dev/start.ts. */
function startProcessUnder(pid: number): number | undefined {
  const children = (parent: number) => {
    const file = `/proc/${parent}/task/${parent}/children`;
    return existsSync(file) ? readFileSync(file, 'utf8').split(' ').filter(Boolean).map(Number) : [];
  };
  for (const child of children(pid)) {
    const argv = existsSync(`/proc/${child}/cmdline`) ? readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0') : [];
    if (basename(argv[0] ?? '') === 'node' && argv.includes('dev/start.ts')) return child;
    const found = startProcessUnder(child);
    if (found !== undefined) return found;
  }
  return undefined;
}

function cpuOf(npmPid: number): Start['cpu'] {
  const pid = startProcessUnder(npmPid);
  if (pid === undefined) return undefined;
  return { mainThread: cpuSeconds(`/proc/${pid}/task/${pid}/stat`), process: cpuSeconds(`/proc/${pid}/stat`) };
}

/** The checkout's supergraph.yaml with every port moved to a free one and its schema paths absolute. */
async function configOnFreePorts(repo: string): Promise<string> {
  const text = readFileSync(join(repo, 'supergraph.yaml'), 'utf8');
  const moved = new Map<string, number>();
  for (const [, port] of text.matchAll(/127\.0\.0\.1:(\d+)/g)) if (!moved.has(port!)) moved.set(port!, await freePort());
  const rewritten = text.replace(/127\.0\.0\.1:(\d+)/g, (_, port: string) => `127.0.0.1:${moved.get(port)}`).replace(/schema\/(\w+)\.graphql/g, (path: string) => join(repo, path));
  const file = join(mkdtempSync(join(tmpdir(), 'geofed-bench-start-')), 'supergraph.yaml');
  writeFileSync(file, rewritten);
  return file;
}

async function timeStart({ dir, commit, config }: Checkout, mode: Mode, dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<Start> {
  const spawned = performance.now();
  const child = spawn('npm', ['start', '-s', ...(mode === 'memory' ? ['--', '--memory'] : [])], {
    cwd: dir,
    env: { ...process.env, GEOFED_CONFIG: config, GEOFED_DATA_DIR: dataDir, LOG_LEVEL: 'info', GEOFED_AUDIT_LOG: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<number | string>((done) => child.once('exit', (code, signal) => done(code ?? signal ?? 'unknown')));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const steps: { line: string; atMs: number }[] = [];
  let wallMs: number | undefined;
  let bannerSeconds: number | undefined;
  let cpu: Start['cpu'];
  const deadline = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), startDeadlineMs);
  for await (const line of createInterface({ input: child.stdout })) {
    const atMs = performance.now() - spawned;
    const ready = /geofed is ready in ([\d.]+)s/.exec(line);
    if (ready) {
      wallMs = atMs;
      bannerSeconds = Number(ready[1]);
      cpu = cpuOf(child.pid!);
    } else if (wallMs === undefined && line.trim() !== '' && !line.startsWith('{')) {
      // Lines before the banner that are not JSON logs are the start command's progress.
      steps.push({ line: line.trim(), atMs });
    }
    if (line.includes('Ctrl-C stops everything.')) break;
  }
  clearTimeout(deadline);
  if (wallMs === undefined || bannerSeconds === undefined) throw new Error(`npm start (${mode}) printed no banner; exit ${await exited}: ${stderr}`);
  const signalled = performance.now();
  process.kill(-child.pid!, 'SIGINT');
  // The rest of stdout is read to its end, or a full pipe would hold the process up.
  let rest = '';
  child.stdout.on('data', (chunk: Buffer) => (rest += chunk.toString()));
  const exit = await exited;
  const drained = rest.includes('"msg":"drained and stopped"');
  const start: Start = { commit, mode, wallMs, bannerSeconds, progress: steps, cpu, stopMs: performance.now() - signalled, exit, drained };
  progress(`${commit} ${mode}: banner after ${(wallMs / 1_000).toFixed(1)} s (its figure ${bannerSeconds} s), CPU ${cpu ? `${cpu.mainThread} s main thread, ${cpu.process} s process` : 'n/a'}, ${drained ? 'drained and stopped' : `not drained (npm exit ${exit})`}`);
  return start;
}

const checkouts: Checkout[] = await Promise.all(
  ((values.repo as string[] | undefined) ?? ['.']).map(async (path) => {
    const dir = resolve(path);
    return { dir, commit: execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(), config: await configOnFreePorts(dir) };
  }),
);
const note = machineNote();
const loadBefore = loadavg()[0]!;
const starts: Start[] = [];
for (const checkout of checkouts) {
  const firstTmp = mkdtempSync(join(tmpdir(), 'geofed-bench-tmp-'));
  const firstData = mkdtempSync(join(tmpdir(), 'geofed-bench-data-'));
  try {
    starts.push(await timeStart(checkout, 'first on the machine', firstData, { TMPDIR: firstTmp }));
  } finally {
    rmSync(firstTmp, { recursive: true, force: true });
    rmSync(firstData, { recursive: true, force: true });
  }
}
for (let run = 0; run < runs; run += 1) {
  for (const checkout of checkouts) {
    const dataDir = mkdtempSync(join(tmpdir(), 'geofed-bench-data-'));
    try {
      starts.push(await timeStart(checkout, 'cold', dataDir));
      starts.push(await timeStart(checkout, 'warm', dataDir));
      starts.push(await timeStart(checkout, 'memory', dataDir));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}
for (const { config } of checkouts) rmSync(resolve(config, '..'), { recursive: true, force: true });

const seconds = (ms: number) => (ms / 1_000).toFixed(1);
const median = (values: readonly number[]) => percentile([...values].sort((a, b) => a - b), 0.5);
const spread = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 1 ? seconds(sorted[0]!) : `${seconds(median(sorted))} (${seconds(sorted[0]!)}–${seconds(sorted.at(-1)!)})`;
};
const modes: Mode[] = ['first on the machine', 'cold', 'warm', 'memory'];
const table = [
  "| commit | start | runs | spawn → banner s, median (min–max) | banner's figure s, median | CPU s by the banner, main thread / process, median | SIGINT → exit s, median | drained on SIGINT | progress lines (median s since spawn) |",
  '|---|---|---|---|---|---|---|---|---|',
  ...checkouts.flatMap(({ commit }) => modes.map((mode) => ({ commit, mode }))).map(({ commit, mode }) => {
    const of = starts.filter((s) => s.commit === commit && s.mode === mode);
    const steps = of[0]!.progress.map((step, i) => `${step.line.replace(/\|/g, '/')} @${seconds(median(of.map((s) => s.progress[i]?.atMs ?? Number.NaN)))}`);
    const cpus = of.flatMap((s) => (s.cpu ? [s.cpu] : []));
    const cpu = cpus.length === 0 ? 'n/a' : `${median(cpus.map((c) => c.mainThread)).toFixed(1)} / ${median(cpus.map((c) => c.process)).toFixed(1)}`;
    return `| ${commit} | ${mode} | ${of.length} | ${spread(of.map((s) => s.wallMs))} | ${median(of.map((s) => s.bannerSeconds)).toFixed(1)} | ${cpu} | ${seconds(median(of.map((s) => s.stopMs)))} | ${of.filter((s) => s.drained).length} of ${of.length} | ${steps.join('<br>') || '(none)'} |`;
  }),
].join('\n');
const loadAfter = loadavg()[0]!;
const machine = `${availableParallelism()} cores, 1-minute load average ${loadBefore.toFixed(2)} before the first start, ${loadAfter.toFixed(2)} after the last`;
const interleaved = checkouts.length > 1 ? ', each round running each commit in turn' : '';
report('start', `npm start at ${checkouts.map((c) => c.commit).join(' and ')}: spawn to banner, cold, warm and in memory (${machine}${interleaved})`, table, { checkouts, machine: { ...note, uptimeAfter: uptime(), loadBefore, loadAfter }, starts });
process.exit(starts.every((s) => s.drained) ? 0 : 1);
