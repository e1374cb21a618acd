import { mkdirSync, writeFileSync } from 'node:fs';

/** Prints a benchmark's table and writes it, with its raw rows, to bench/results/. */
export function report(name: string, title: string, table: string, rows: unknown): void {
  console.log(`\n${title}\n\n${table}\n`);
  mkdirSync('bench/results', { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(`bench/results/${name}-${stamp}.md`, `# ${title}\n\n${new Date().toISOString()}\n\n${table}\n`);
  writeFileSync(`bench/results/${name}-${stamp}.json`, JSON.stringify(rows, null, 2));
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}
