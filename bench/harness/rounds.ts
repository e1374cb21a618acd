import type { RunningChild } from './child.js';
import { runLoad, type LoadRequest } from './load.js';
import { progress } from './progress.js';

/** One gateway of a comparison: a process of its own and what the load sends it. */
export interface Target {
  readonly name: string;
  /** Starts its process, once, before any round. */
  start(): Promise<RunningChild>;
  /** The load's request, from what the process's ready line said (its URL). */
  request(ready: string): LoadRequest;
}

export interface RoundsOptions {
  /** Prefix of every progress line. */
  readonly label: string;
  readonly targets: readonly Target[];
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  /** Sends one request of the load and throws unless its answer is right: run once per target before warming up. */
  readonly check?: (request: LoadRequest, target: Target) => Promise<void>;
}

export interface RoundSample {
  readonly round: number;
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  /** The gateway process's CPU seconds over the round, per 1000 requests it answered. */
  readonly cpuSecondsPer1000: number;
}

export interface TargetResult {
  readonly name: string;
  readonly pid: number;
  readonly samples: readonly RoundSample[];
  /** Medians over the rounds. */
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuSecondsPer1000: number;
  /** Every round's errors together. */
  readonly errors: number;
  /** Peak resident memory of the process over its whole life, warm-up included. */
  readonly peakRssBytes: number;
}

/** The median of the finite values (a round that answered nothing has no CPU per request); NaN when there are none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * The alternating comparison: every target's process is started, checked and
 * warmed up (not measured), then each round measures every target once, in
 * the same order (A B C A B C …), so that a change of the machine's load
 * falls on all of them alike. Figures are medians of the rounds.
 */
export async function runRounds({ label, targets, rounds, seconds, warmupSeconds, connections, check }: RoundsOptions): Promise<TargetResult[]> {
  const running: { target: Target; child: RunningChild; request: LoadRequest; samples: RoundSample[] }[] = [];
  try {
    // Started together (a start is mostly waiting on the disk and on the other cores), measured apart.
    const started = await Promise.allSettled(
      targets.map(async (target) => {
        const child = await target.start();
        progress(`${label}: started ${target.name} (pid ${child.pid})`);
        return { target, child, request: target.request(child.ready), samples: [] as RoundSample[] };
      }),
    );
    for (const outcome of started) if (outcome.status === 'fulfilled') running.push(outcome.value);
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    for (const { target, request } of running) {
      await check?.(request, target);
      const warm = await runLoad(request, connections, warmupSeconds);
      progress(`${label}: warm-up ${target.name}, ${warm.requestsPerSecond.toFixed(0)} req/s (not counted)`);
    }
    for (let round = 1; round <= rounds; round += 1) {
      for (const entry of running) {
        const before = entry.child.usage().cpuSeconds;
        const sample = await runLoad(entry.request, connections, seconds);
        const cpu = entry.child.usage().cpuSeconds - before;
        entry.samples.push({ round, ...sample, cpuSecondsPer1000: sample.requests > 0 ? (cpu / sample.requests) * 1000 : Number.NaN });
        progress(`${label}: round ${round}/${rounds} ${entry.target.name}: ${sample.requestsPerSecond.toFixed(0)} req/s, p50 ${sample.p50Ms} ms, p99 ${sample.p99Ms} ms${sample.errors ? `, ${sample.errors} errors` : ''}`);
      }
    }
    return running.map(({ target, child, samples }) => ({
      name: target.name,
      pid: child.pid,
      samples,
      requestsPerSecond: median(samples.map((s) => s.requestsPerSecond)),
      p50Ms: median(samples.map((s) => s.p50Ms)),
      p99Ms: median(samples.map((s) => s.p99Ms)),
      cpuSecondsPer1000: median(samples.map((s) => s.cpuSecondsPer1000)),
      errors: samples.reduce((sum, s) => sum + s.errors, 0),
      peakRssBytes: child.usage().peakRssBytes,
    }));
  } finally {
    await Promise.all(running.map(({ child }) => child.stop()));
  }
}
