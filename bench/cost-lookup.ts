import { readFileSync } from 'node:fs';
import { parse, type DocumentNode } from 'graphql';
import { buildCostModel, type CostModel } from '../plugins/cost/calculator.js';
import { percentile, report } from './report.js';

// The cost plugin prices every request before planning: a cached estimate must stay within 20 µs at p99.
// `npx tsx bench/cost-lookup.ts`
const calls = 100_000;
const supergraph = readFileSync('schema/supergraph.graphql', 'utf8');
const meQuery = '{ me { orders { items { product { name } } } } }';
const slicedQuery = 'query ($n: Int, $id: ID) { me { orders(first: $n) { items { product { name } } } } product(id: $id) { name } }';

interface Row { case: string; calls: number; p50Us: number; p99Us: number; maxUs: number }

function micros(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1000;
}

function timeCached(name: string, model: CostModel, document: DocumentNode, variables: (i: number) => Record<string, unknown> | undefined): Row {
  for (let i = 0; i < 10_000; i += 1) model.estimate(document, undefined, variables(i));
  const samples = new Array<number>(calls);
  for (let i = 0; i < calls; i += 1) {
    const vars = variables(i);
    const started = process.hrtime.bigint();
    model.estimate(document, undefined, vars);
    samples[i] = micros(started);
  }
  samples.sort((a, b) => a - b);
  return { case: name, calls, p50Us: percentile(samples, 0.5), p99Us: percentile(samples, 0.99), maxUs: samples[samples.length - 1]! };
}

const buildStarted = process.hrtime.bigint();
const model = buildCostModel(supergraph, { siteOf: (typeName) => (typeName === 'Product' ? 'local' : 'home') });
const buildUs = micros(buildStarted);

const document = parse(meQuery);
const firstStarted = process.hrtime.bigint();
const estimate = model.estimate(document, undefined, undefined);
const firstUs = micros(firstStarted);

// Compiling the cost tree of a document never seen (warm JIT): what a cache miss costs after start-up.
const compiles: number[] = [];
for (let i = 0; i < 1_000; i += 1) {
  const fresh = parse(meQuery);
  const started = process.hrtime.bigint();
  model.estimate(fresh, undefined, undefined);
  compiles.push(micros(started));
}
compiles.sort((a, b) => a - b);

const rows: Row[] = [
  timeCached('cached, no variable', model, document, () => undefined),
  // Only $n re-prices: $id changes on every call and must not.
  timeCached('cached, slicing variable $n (4 values) + unrelated $id', model, parse(slicedQuery), (i) => ({ n: i % 4, id: `p${i}` })),
];

const lines = [
  `estimate of \`${meQuery}\`: ${JSON.stringify(estimate)}`,
  '',
  '| case | calls | p50 µs | p99 µs | max µs |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.case} | ${r.calls} | ${r.p50Us.toFixed(2)} | ${r.p99Us.toFixed(2)} | ${r.maxUs.toFixed(1)} |`),
  '',
  '| uncached | µs |',
  '|---|---|',
  `| model build (parse + buildASTSchema + directives) | ${buildUs.toFixed(0)} |`,
  `| first estimate (compile + evaluate, cold JIT) | ${firstUs.toFixed(1)} |`,
  `| compile + evaluate of a new document, p50 of 1000 (warm) | ${percentile(compiles, 0.5).toFixed(1)} |`,
  `| compile + evaluate of a new document, p99 of 1000 (warm) | ${percentile(compiles, 0.99).toFixed(1)} |`,
];
report('cost-lookup', `Cost model: cached estimate (${calls} calls each, after 10000 warm-up calls)`, lines.join('\n'), {
  estimate,
  rows,
  uncached: { buildUs, firstUs, compileP50Us: percentile(compiles, 0.5), compileP99Us: percentile(compiles, 0.99) },
});
process.exit(0);
