import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, type GeofedConfig } from '../gateway/config.js';
import { sha256Hex } from '../plugins/persisted-queries/manifest.js';
import { checkSchema, formatReport } from '../schema/check.js';
import { usersV2Schema } from './fixtures/users-v2.js';

// schema:check with versions: users@v2 (a field added) on a canary in eu, users@v3 (email removed) the stable
// version of apac. Each region's variants are composed and checked; what fails is reported with its region.
const temp = mkdtempSync(join(tmpdir(), 'geofed-schema-regions-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const base = loadConfig('supergraph.yaml', {});
const committed = readFileSync(base.supergraphPath!, 'utf8');
const usersV3 = join(temp, 'users-v3.graphql');
writeFileSync(usersV3, readFileSync('schema/users.graphql', 'utf8').replace('  email: String! @tag(name: "pii")\n', ''));

const config: GeofedConfig = {
  ...base,
  subgraphs: base.subgraphs.map((s) =>
    s.name === 'users'
      ? { ...s, versions: { v2: { schema: { file: usersV2Schema }, urls: { eu: 'http://127.0.0.1:4212/graphql' } }, v3: { schema: { file: usersV3 }, urls: { apac: 'http://127.0.0.1:4213/graphql' } } } }
      : s,
  ),
  rollout: { ...base.rollout, regions: { eu: { users: { stable: 'v1', canary: 'v2', percent: 10, pinned: [] } }, apac: { users: { stable: 'v3', percent: 0, pinned: [] } } } },
};

function manifest(bodies: Record<string, string>): string {
  const path = join(temp, `manifest-${Object.keys(bodies).join('-')}.json`);
  const operations = Object.entries(bodies).map(([name, body]) => ({ id: sha256Hex(body), name, type: 'query', body }));
  writeFileSync(path, JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations }));
  return path;
}

describe('schema check per region', () => {
  it('composes and checks every region\'s variants, and reports each region', async () => {
    const report = await checkSchema({ config, baseSdl: committed, manifestPath: null, allowBreaking: true });
    expect(report.regions).toEqual([
      { region: 'us', ok: true, variants: [{ side: 'stable', variant: 'catalog@v1,users@v1,orders@v1', ok: true }], errors: [] },
      {
        region: 'eu',
        ok: true,
        variants: [
          { side: 'stable', variant: 'catalog@v1,users@v1,orders@v1', ok: true },
          { side: 'canary users@v2', variant: 'catalog@v1,users@v2,orders@v1', ok: true },
        ],
        errors: [],
      },
      { region: 'apac', ok: true, variants: [{ side: 'stable', variant: 'catalog@v1,users@v3,orders@v1', ok: true }], errors: [] },
      { region: 'latam', ok: true, variants: [{ side: 'stable', variant: 'catalog@v1,users@v1,orders@v1', ok: true }], errors: [] },
    ]);
    const v3 = report.variants!.find((v) => v.id === 'catalog@v1,users@v3,orders@v1')!;
    expect(v3.breaking).toEqual([expect.objectContaining({ type: 'FIELD_REMOVED', path: 'User.email' })]);
    // v2 adds safe changes (User.displayName and its description) to whatever the base's own SDL changed against the committed supergraph.
    const safeOf = (id: string) => Number(/0 breaking, 0 dangerous, (\d+) safe/.exec(String(report.variants!.find((v) => v.id === id)!.steps.find((s) => s.name === 'breaking-changes')!.notes[0]))?.[1]);
    expect(safeOf('catalog@v1,users@v2,orders@v1')).toBeGreaterThan(safeOf('catalog@v1,users@v1,orders@v1'));
    expect(report.ok).toBe(true);
  });

  it('fails a breaking change in the one region that runs it', async () => {
    const report = await checkSchema({ config, baseSdl: committed, manifestPath: null });
    expect(report.ok).toBe(false);
    expect(report.steps.every((s) => s.ok)).toBe(true);
    expect(report.regions!.filter((r) => !r.ok).map((r) => [r.region, r.errors])).toEqual([
      ['apac', [expect.stringMatching(/^stable \(catalog@v1,users@v3,orders@v1\): breaking-changes: breaking: Field 'email' was removed from object type 'User'/)]],
    ]);
  });

  it('reports a persisted operation that does not validate in some region with that region', async () => {
    const manifestPath = manifest({ Contact: 'query Contact {\n  me {\n    email\n  }\n}' });
    const report = await checkSchema({ config, baseSdl: committed, manifestPath, allowBreaking: true });
    expect(report.ok).toBe(false);
    expect(report.steps.find((s) => s.name === 'operations')).toMatchObject({ ok: true, errors: [] });
    expect(report.regions!.filter((r) => !r.ok).map((r) => [r.region, r.errors])).toEqual([
      ['apac', [expect.stringMatching(/^stable \(catalog@v1,users@v3,orders@v1\): operations: operation Contact \([0-9a-f]{12}\): Cannot query field "email" on type "User"/)]],
    ]);
    const text = formatReport(report);
    expect(text).toContain('✗ apac: stable catalog@v1,users@v3,orders@v1');
    expect(text).toContain('✓ eu: stable catalog@v1,users@v1,orders@v1; canary users@v2 catalog@v1,users@v2,orders@v1');
    expect(text).toMatch(/variant catalog@v1,users@v2,orders@v1 \(eu canary users@v2\):\n {2}✓ composition/);
  });

  it('reports a variant that does not compose with the regions that run it', async () => {
    const broken = { ...config, subgraphs: config.subgraphs.map((s) => (s.name === 'users' ? { ...s, versions: { ...s.versions, v2: { ...s.versions.v2!, schema: { file: join(temp, 'missing.graphql') } } } } : s)) };
    const report = await checkSchema({ config: broken, baseSdl: committed, manifestPath: null, allowBreaking: true });
    expect(report.regions!.find((r) => r.region === 'eu')).toMatchObject({ ok: false, errors: [expect.stringMatching(/^canary users@v2 \(catalog@v1,users@v2,orders@v1\): composition: subgraphs\.users\.schema\.file: there is no file/)] });
  });

  it('leaves the report of a config without versions as it was', async () => {
    const report = await checkSchema({ config: base, baseSdl: committed, manifestPath: null });
    expect({ ok: report.ok, variants: report.variants, regions: report.regions }).toEqual({ ok: true, variants: undefined, regions: undefined });
  });
});
