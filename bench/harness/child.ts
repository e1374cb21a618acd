import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** What a benchmark reads of a process it started: CPU time so far and the peak of its resident memory. */
export interface ProcessUsage {
  /** User + system CPU seconds since the process started (/proc/<pid>/stat), its child processes' included. */
  readonly cpuSeconds: number;
  /** Peak resident set size in bytes (VmHWM of /proc/<pid>/status). */
  readonly peakRssBytes: number;
}

export interface RunningChild {
  readonly name: string;
  readonly pid: number;
  /** What the child's ready line said (a URL, a JSON document): everything after `ready `, or the line `ready` matched. */
  readonly ready: string;
  usage(): ProcessUsage;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface ChildOptions {
  readonly name: string;
  /** Arguments of `node` (the child is this Node binary). */
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** The first stdout line this returns a value for is the ready line. @default lines starting `ready ` */
  readonly readyLine?: (line: string) => string | undefined;
  /** @default 60000 */
  readonly timeoutMs?: number;
}

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Every child's logs are off: a benchmark's terminal shows its progress lines only. */
export const quietEnv: NodeJS.ProcessEnv = { LOG_LEVEL: 'silent', GEOFED_AUDIT_LOG: 'silent', NODE_ENV: 'development' };

const defaultReady = (line: string) => (line.startsWith('ready ') ? line.slice('ready '.length) : undefined);

/**
 * Starts `node ARGS` and waits for its ready line. Its output is kept (the
 * last lines) only to explain a failure to start; nothing reaches the terminal.
 */
export async function startChild({ name, args, env = {}, readyLine = defaultReady, timeoutMs = 60_000 }: ChildOptions): Promise<RunningChild> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...quietEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 30) tail.shift();
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} was not ready within ${timeoutMs} ms:\n${tail.join('\n')}`)), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${tail.join('\n')}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      const value = readyLine(line);
      if (value === undefined) return;
      clearTimeout(timer);
      resolve(value);
    });
  }).catch(async (error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  const pid = child.pid!;
  return { name, pid, ready, usage: () => processUsage(pid), stop: (graceMs = 5_000) => stopChild(child, exited, graceMs) };
}

/**
 * CPU seconds and peak RSS of a live process and every process under it (a
 * cluster's workers), from /proc: the peaks are summed, an upper bound of the
 * tree's peak.
 */
export function processUsage(pid: number): ProcessUsage {
  let cpuSeconds = 0;
  let peakRssBytes = 0;
  for (const member of processTree(pid)) {
    try {
      cpuSeconds += statFields(member).cpuTicks / clockTicks;
      const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${member}/status`, 'utf8'));
      peakRssBytes += hwm ? Number(hwm[1]) * 1024 : 0;
    } catch {
      // Gone between the listing and the read.
    }
  }
  return { cpuSeconds, peakRssBytes };
}

function statFields(pid: number): { ppid: number; cpuTicks: number } {
  // Fields after the command's closing parenthesis: state is field 3, ppid 4, utime 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === root) continue;
    try {
      const { ppid } = statFields(pid);
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    } catch {
      // Gone already.
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i += 1) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

async function stopChild(child: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
