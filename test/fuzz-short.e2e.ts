import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFuzz, type FuzzReport, type Sample } from './fixtures/fuzz/fuzz.js';
import { formatRequest } from './fixtures/fuzz/report.js';
import { startFuzzStack, type FuzzStack } from './fixtures/fuzz/stack.js';

// The short run of `npm run fuzz` (bench/fuzz/main.ts, on test/fixtures/fuzz/): the first 500 cases of the default seed against the
// whole stack in production mode. A failure lists each distinct answer with its smallest request;
// `npm run fuzz -- --seed 1 --replay <case>` sends a case again.
const seed = 1;
const count = 500;
let stack: FuzzStack | undefined;
let report: FuzzReport;

beforeAll(async () => {
  stack = await startFuzzStack();
  report = await runFuzz({ seed, count, concurrency: 16, deadlineMs: 10_000, target: stack.target });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

/** The failures, one paragraph each, as the assertion's message. */
const listed = (lines: readonly string[]) => `\n${lines.join('\n\n')}\n`;
const describeSample = (f: Sample) => `${f.status} ${f.code ?? '-'} "${f.messagePrefix}" × ${f.count} (cases ${f.cases.join(', ')})\n${formatRequest(f.smallest.request)}`;

describe(`fuzz: ${count} operations, seed ${seed}, production mode`, () => {
  it('answers no operation with a 5xx', () => {
    expect(report.fiveXX, listed(report.failures.filter((f) => typeof f.status === 'number').map(describeSample))).toBe(0);
  });

  it('answers every request before the 10 s deadline', () => {
    expect(report.hangs, listed(report.failures.filter((f) => f.status === 'hang').map(describeSample))).toBe(0);
  });

  it('answers every request over HTTP, and /healthz keeps answering (no crash)', () => {
    expect(report.networkErrors, listed(report.failures.filter((f) => f.status === 'network-error').map(describeSample))).toBe(0);
    expect(report.crashes).toEqual([]);
    expect(report.sent).toBe(count);
  });

  it('serves at least 15% of the operations 200 with data', () => {
    expect(report.servedWithData / count, `${report.servedWithData} of ${count} served 200 with data; statuses ${JSON.stringify(report.byStatus)}`).toBeGreaterThanOrEqual(0.15);
  });

  it('leaks nothing, serves no refused token, grants no role a token does not carry exactly, and no data of another tenant', () => {
    expect(report.findings.length, listed(report.findings.map((f) => `${f.oracle} (case ${f.index}): ${f.detail}\n${formatRequest(f.request)}`))).toBe(0);
  });
});
