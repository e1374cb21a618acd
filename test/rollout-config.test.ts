import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../gateway/config.js';
import { variantIdFor, variantsOf } from '../gateway/variants.js';
import { onCanary, type RolloutView } from '../gateway/rollout-state.js';

const good = readFileSync('supergraph.yaml', 'utf8');
/** users@v2 deployed in eu, its SDL the repository's own users SDL (a copy would do). */
const usersV2 = good.replace(
  '      latam: http://127.0.0.1:4204/graphql\n',
  `      latam: http://127.0.0.1:4204/graphql\n    versions:\n      v2:\n        schema: { file: ${join(process.cwd(), 'schema/users.graphql')} }\n        urls: { eu: http://127.0.0.1:4212/graphql }\n`,
);

function load(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'geofed-rollout-'));
  const file = join(dir, 'supergraph.yaml');
  writeFileSync(file, text);
  return loadConfig(file, {});
}

function errorOf(text: string): string {
  try {
    load(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the config to be refused');
}

const withRollout = (entry: string, region = 'eu', subgraph = 'users') => `${usersV2}\nrollout:\n  regions:\n    ${region}:\n      ${subgraph}: ${entry}\n`;

describe('versions and rollouts in supergraph.yaml', () => {
  it('reads a version of a subgraph and a region\'s canary of it', () => {
    const config = load(withRollout('{ stable: v1, canary: v2, percent: 10, pinned: [acme] }'));
    const users = config.subgraphs.find((s) => s.name === 'users')!;
    expect({ version: users.version, versions: Object.keys(users.versions), urls: users.versions.v2!.urls }).toEqual({ version: 'v1', versions: ['v2'], urls: { eu: 'http://127.0.0.1:4212/graphql' } });
    expect(config.rollout).toMatchObject({ pollMs: 1_000, guard: { enabled: true, windowMs: 60_000, minRequests: 50 }, regions: { eu: { users: { stable: 'v1', canary: 'v2', percent: 10, pinned: ['acme'] } } } });
    expect(variantsOf(config).map((v) => [v.id, v.servedTo])).toEqual([
      ['catalog@v1,users@v1,orders@v1', ['us', 'eu', 'apac', 'latam']],
      ['catalog@v1,users@v2,orders@v1', ['eu canary users@v2']],
    ]);
  });

  it('names the key of a version or a rollout that cannot be used', () => {
    expect(errorOf(withRollout('{ stable: v1, canary: v3 }'))).toContain('rollout.regions.eu.users.canary: "v3" is not a version of users [v1, v2]');
    expect(errorOf(withRollout('{ stable: v1, canary: v2, percent: 101 }'))).toContain('rollout.regions.eu.users.percent: a share from 0 to 100');
    expect(errorOf(withRollout('{ stable: v1, canary: v1 }'))).toContain('rollout.regions.eu.users.canary: the canary is the stable version (v1)');
    expect(errorOf(withRollout('{ stable: v1, percent: 5 }'))).toContain('rollout.regions.eu.users.percent: a share of tenants needs a canary version');
    expect(errorOf(withRollout('{ stable: v1, canary: v2 }', 'us'))).toContain('rollout.regions.us.users.canary: users@v2 has no instance in us (subgraphs.users.versions.v2.urls.us)');
    expect(errorOf(withRollout('{ stable: v1 }', 'mars'))).toContain('rollout.regions.mars: "mars" is not one of regions [us, eu, apac, latam]');
    expect(errorOf(withRollout('{ stable: v1 }', 'eu', 'payments'))).toContain('rollout.regions.eu.payments: "payments" is not one of subgraphs [catalog, users, orders]');
    expect(errorOf(withRollout('{ stable: v1, canery: v2 }'))).toContain('rollout.regions.eu.users.canery: unknown key');
    expect(errorOf(usersV2.replace('urls: { eu: http://127.0.0.1:4212/graphql }', 'urls: { mars: http://127.0.0.1:4212/graphql }'))).toContain('subgraphs.users.versions.v2.urls.mars: "mars" is not one of regions');
    expect(errorOf(usersV2.replace('    versions:\n      v2:', '    versions:\n      v1:'))).toContain('subgraphs.users.versions.v1: "v1" is the label of the base entry (subgraphs.users.version)');
  });
});

describe('the canary side', () => {
  const tenants = Array.from({ length: 2_000 }, (_, i) => `tenant-${i}`);

  it('holds about the share of tenants, and a tenant on it stays on it as the share grows', () => {
    const at = (percent: number) => new Set(tenants.filter((id) => onCanary({ canary: 'v2', percent, pinned: [] }, 'users', id)));
    const [ten, thirty] = [at(10), at(30)];
    expect({ ten: ten.size > 150 && ten.size < 250, thirty: thirty.size > 500 && thirty.size < 700, kept: [...ten].every((id) => thirty.has(id)) }).toEqual({ ten: true, thirty: true, kept: true });
    expect(at(0).size).toBe(0);
    expect(at(100).size).toBe(tenants.length);
  });

  it('puts pinned tenants on it, and nobody once it is rolled back', () => {
    const entry = { canary: 'v2', percent: 100, pinned: ['acme'] };
    expect([onCanary({ ...entry, percent: 0 }, 'users', 'acme'), onCanary({ ...entry, percent: 0 }, 'users', 'globex')]).toEqual([true, false]);
    const rollback = { at: '2025-01-01T00:00:00.000Z', by: 'guard' as const, reason: 'errors', version: 'v2' };
    expect([onCanary({ ...entry, rollback }, 'users', 'acme'), onCanary({ ...entry, rollback }, 'users', 'globex')]).toEqual([false, false]);
  });

  it('picks the variant of the caller\'s home region, anonymous callers the gateway region\'s stable one', () => {
    const config = load(withRollout('{ stable: v1, canary: v2, percent: 0, pinned: [acme] }'));
    const view: RolloutView = { entry: (region, subgraph) => { const planned = config.rollout.regions[region]?.[subgraph]; return planned && { ...planned, revision: 0 }; } };
    expect([variantIdFor(config, view, 'eu', 'acme'), variantIdFor(config, view, 'eu', 'initrode'), variantIdFor(config, view, 'eu', undefined), variantIdFor(config, view, 'us', 'acme')]).toEqual([
      'catalog@v1,users@v2,orders@v1',
      'catalog@v1,users@v1,orders@v1',
      'catalog@v1,users@v1,orders@v1',
      'catalog@v1,users@v1,orders@v1',
    ]);
  });
});
