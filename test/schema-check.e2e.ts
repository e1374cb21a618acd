import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../gateway/config.js';
import { sha256Hex } from '../plugins/persisted-queries/manifest.js';
import { gitBaseSupergraph } from '../schema/check-diff.js';
import { checkSchema, formatReport, type CheckOptions, type CheckReport, type StepName } from '../schema/check.js';

const config = loadConfig('supergraph.yaml', {});
const committed = readFileSync(config.supergraphPath!, 'utf8');
const temp = mkdtempSync(join(tmpdir(), 'geofed-schema-check-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** Runs the check with `subgraph`'s SDL edited in memory, against the committed supergraph. */
function checkWith(subgraph: string, edit: (sdl: string) => string, options: CheckOptions = {}): Promise<CheckReport> {
  const readSchema = (path: string) => {
    const sdl = readFileSync(path, 'utf8');
    if (!path.endsWith(`${subgraph}.graphql`)) return sdl;
    const edited = edit(sdl);
    if (edited === sdl) throw new Error(`the edit of ${subgraph} changed nothing`);
    return edited;
  };
  // The committed file is stale by construction here: staleness is tested separately.
  return checkSchema({ config, readSchema, baseSdl: committed, committedSupergraph: null, manifestPath: null, ...options });
}

function stepOf(report: CheckReport, name: StepName) {
  const found = report.steps.find((s) => s.name === name);
  if (!found) throw new Error(`no step ${name}`);
  return found;
}

const productField = 'type Product @key(fields: "id") {\n  id: ID!\n';

describe('schema check', () => {
  it('passes the real repo with every step', async () => {
    const report = await checkSchema({ config, baseSdl: committed, manifestPath: null });
    expect(report.ok).toBe(true);
    expect(report.steps.map((s) => s.name)).toEqual(['composition', 'staleness', 'breaking-changes', 'residency', 'events', 'operations', 'cost']);
    expect(report.breaking).toEqual([]);
    expect(report.dangerous).toEqual([]);
    expect(stepOf(report, 'operations').skipped).toBe(true);
    expect(formatReport(report)).toMatch(/^✓ composition/);
  });

  it('fails a stale committed supergraph and composition errors', async () => {
    const stale = await checkSchema({ config, baseSdl: committed, committedSupergraph: `${committed}\n# edited\n`, manifestPath: null });
    expect(stale.ok).toBe(false);
    expect(stepOf(stale, 'staleness').errors[0]).toMatch(/is stale: run `npm run compose`/);
    const broken = await checkWith('users', () => 'type User {');
    expect(broken.ok).toBe(false);
    expect(stepOf(broken, 'composition').errors[0]).toMatch(/^users .*Syntax Error/);
    expect(stepOf(broken, 'breaking-changes').skipped).toBe(true);
  });

  it('accepts a safe change: a field added', async () => {
    const report = await checkWith('catalog', (sdl) => sdl.replace(productField, `${productField}  sku: String\n`));
    expect(report.ok).toBe(true);
    expect(report.breaking).toEqual([]);
    expect(report.dangerous).toEqual([]);
    expect(stepOf(report, 'breaking-changes').notes[0]).toMatch(/0 breaking, 0 dangerous, 1 safe/);
  });

  it('accepts a dangerous change and lists it: an argument default changed', async () => {
    const report = await checkWith('catalog', (sdl) => sdl.replace('products(first: Int = 20)', 'products(first: Int = 25)'));
    expect(report.ok).toBe(true);
    expect(report.breaking).toEqual([]);
    expect(report.dangerous).toHaveLength(1);
    expect(report.dangerous[0]).toMatchObject({ type: 'FIELD_ARGUMENT_DEFAULT_CHANGED', path: 'Query.products.first' });
    expect(stepOf(report, 'breaking-changes').warnings[0]).toMatch(/^dangerous: Default value for argument 'first' on field 'Query.products' changed from '20' to '25'/);
  });

  it.each([
    ['a field removed', (sdl: string) => sdl.replace('  currency: String!\n', ''), 'FIELD_REMOVED', 'Product.currency'],
    ['a field type changed', (sdl: string) => sdl.replace('  priceCents: Int!\n', '  priceCents: Float!\n'), 'FIELD_TYPE_CHANGED', 'Product.priceCents'],
  ])('fails a breaking change (%s) unless breaking changes are allowed', async (_, edit, type, path) => {
    const report = await checkWith('catalog', edit);
    expect(report.ok).toBe(false);
    expect(report.breaking).toEqual([expect.objectContaining({ type, path })]);
    const diffStep = stepOf(report, 'breaking-changes');
    expect(diffStep.ok).toBe(false);
    expect(diffStep.errors[0]).toMatch(new RegExp(`^breaking: .*${path.split('.')[1]}`));
    const allowed = await checkWith('catalog', edit, { allowBreaking: true });
    expect(allowed.ok).toBe(true);
    expect(allowed.breaking).toHaveLength(1);
    expect(stepOf(allowed, 'breaking-changes').warnings[0]).toMatch(/\(allowed\)$/);
  });

  it('fails a pii-tagged field that a global subgraph resolves, naming subgraph, type and field', async () => {
    const report = await checkWith('catalog', (sdl) =>
      sdl.replace('"@listSize"]', '"@listSize", "@tag"]').replace(productField, `${productField}  supplierEmail: String @tag(name: "pii")\n`),
    );
    expect(report.ok).toBe(false);
    const residency = stepOf(report, 'residency');
    expect(residency.ok).toBe(false);
    expect(residency.errors).toEqual([expect.stringMatching(/Product\.supplierEmail .*pii.*global subgraph catalog/)]);
    expect(stepOf(report, 'breaking-changes').ok).toBe(true);
  });

  it('fails a persisted operation the change breaks, naming it', async () => {
    const manifestPath = join(temp, 'manifest.json');
    const bodies = { ProductPrices: 'query ProductPrices {\n  products {\n    id\n    currency\n  }\n}', Me: 'query Me {\n  me {\n    id\n  }\n}' };
    const operations = Object.entries(bodies).map(([name, body]) => ({ id: sha256Hex(body), name, type: 'query', body }));
    writeFileSync(manifestPath, JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations }));
    const removeCurrency = (sdl: string) => sdl.replace('  currency: String!\n', '');
    const report = await checkWith('catalog', removeCurrency, { manifestPath, allowBreaking: true });
    expect(report.ok).toBe(false);
    const ops = stepOf(report, 'operations');
    expect(ops.errors).toEqual([expect.stringMatching(/^operation ProductPrices .*Cannot query field "currency" on type "Product"/)]);
    const unchanged = await checkSchema({ config, baseSdl: committed, manifestPath });
    expect(stepOf(unchanged, 'operations')).toMatchObject({ ok: true, errors: [] });
  });

  it('warns about a list field with neither @listSize nor a slicing argument, and still passes', async () => {
    const report = await checkWith('catalog', (sdl) =>
      sdl.replace(productField, `${productField}  tags: [String!]!\n  related(first: Int): [Product!]!\n`),
    );
    expect(report.ok).toBe(true);
    const cost = stepOf(report, 'cost');
    expect(cost.ok).toBe(true);
    expect(cost.warnings).toEqual([expect.stringMatching(/^Product\.tags: \[String!\]! has neither @listSize nor a slicing argument/)]);
    expect(formatReport(report)).toMatch(/\n {2}! Product\.tags/);
  });

  it('defaults the base to the committed supergraph at the merge base with main or HEAD~1, else skips the diff', async () => {
    const fromGit = gitBaseSupergraph(config.supergraphPath!);
    if (fromGit.sdl !== undefined) expect(fromGit.source).toMatch(/^supergraph\.graphql at [0-9a-f]{12} \((merge base with (origin\/)?main|HEAD~1)\)$/);
    else expect(fromGit.note).toMatch(/skipped/);
    const outside = join(temp, 'supergraph.graphql');
    writeFileSync(outside, committed);
    expect(gitBaseSupergraph(outside)).toEqual({ note: expect.stringMatching(/^no git history/) });
    const noBase = await checkSchema({ config, baseSdl: null, manifestPath: null });
    expect(stepOf(noBase, 'breaking-changes')).toMatchObject({ ok: true, skipped: true });
  });

  it('runs as a CLI that prints one JSON report and exits 0 on the repo', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'cli/geofed.ts', 'check', '--base', 'schema/supergraph.graphql', '--json'], {
      env: { ...process.env, GEOFED_CONFIG: 'supergraph.yaml' },
    });
    const report = JSON.parse(stdout) as CheckReport;
    expect(report).toMatchObject({ ok: true, breaking: [], dangerous: [] });
    for (const s of report.steps) {
      expect(s).toMatchObject({ name: expect.any(String), ok: true, errors: [], warnings: expect.any(Array) });
    }
    expect(report.steps.find((s) => s.name === 'breaking-changes')).toMatchObject({ base: 'schema/supergraph.graphql' });
  });
});
