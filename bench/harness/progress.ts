import { writeSync } from 'node:fs';

// A benchmark's terminal shows one line per step and nothing else. Under `npm run bench` the runner
// hands each benchmark its terminal as file descriptor GEOFED_BENCH_PROGRESS_FD (the benchmark's
// own stdout and stderr go to a log file); run on its own, a benchmark writes to its stdout.
const fd = Number(process.env.GEOFED_BENCH_PROGRESS_FD ?? 1);
const started = Date.now();

/** Prints one progress line, prefixed with the seconds since the benchmark started. */
export function progress(line: string): void {
  writeSync(fd, `[${String(Math.round((Date.now() - started) / 1000)).padStart(4)} s] ${line}\n`);
}
