import { z } from 'zod';
import { positiveInteger, regionName, settingsSection } from '../runtime/settings.js';
import { labelsOf, versionLabel, versionOf, type SubgraphVersion } from './versions.js';

// The `rollout` section of supergraph.yaml (docs/rollouts.md): which version of each subgraph each region runs, a
// canary beside it for a share of the region's tenants, and the guard that rolls a canary back by itself.

const tenantId = z.string().min(1).max(200);

/** One subgraph in one region: its stable version and, during a rollout, a canary for `percent` of the region's tenants. */
export const rolloutEntry = z.strictObject({
  stable: versionLabel,
  canary: versionLabel.optional(),
  /** The share of the region's tenants on the canary, by a hash of their id (a tenant stays on its side as the share grows). */
  percent: z.number().min(0, 'a share from 0 to 100').max(100, 'a share from 0 to 100').default(0),
  /** Tenants on the canary whatever the share. */
  pinned: z.array(tenantId).default([]),
});

export type RolloutEntryInput = z.output<typeof rolloutEntry>;

/** `rollout.poll_ms` when unset, and the rollout runtime's poll before the first config is served. */
export const defaultRolloutPollMs = 1_000;

export const rolloutSection = settingsSection({
  /** How often a gateway reads the live rollout state and adds its counts to the region's. */
  poll_ms: positiveInteger.default(defaultRolloutPollMs),
  /** Prefix of the rollout keys in the shared Upstash Redis. */
  key_prefix: z.string().min(1).default('geofed:rollout'),
  /** A read or write of the shared store slower than this fails: the state in force keeps serving. */
  store_timeout_ms: positiveInteger.default(1_000),
  /** When a canary is rolled back by itself: compared with the stable side over a sliding window of the region's requests. */
  guard: settingsSection({
    enabled: z.boolean().default(true),
    window_ms: positiveInteger.default(60_000),
    /** Requests of the canary in the window before it is judged. */
    min_requests: positiveInteger.default(50),
    /** The canary's error rate may exceed the stable side's by this much (0.05: five points). */
    max_error_rate_delta: z.number().min(0).max(1).default(0.05),
    /** The canary's p95 latency may be this many times the stable side's. */
    max_p95_ratio: z.number().min(1).default(2),
  }).prefault({}),
  /** By region, by subgraph: the state a region starts in; a region or subgraph not named runs the base version. */
  regions: z.record(regionName, z.record(z.string(), rolloutEntry)).default({}),
}).prefault({});

/** A subgraph as the rollout checks read it. */
interface Deployable extends SubgraphVersion {
  readonly name: string;
  readonly scope: 'regional' | 'global';
  readonly version: string;
  readonly versions: Readonly<Record<string, SubgraphVersion>>;
}

/**
 * What is wrong with running `entry` for `subgraph` in `region`, each problem with the key it is about
 * (relative to the entry): a version that is not declared, the canary equal to the stable version, a version
 * with no instance where it must run. The config's `rollout.regions` and a rollout command are checked alike.
 */
export function rolloutProblems(subgraph: Deployable, region: string, entry: Pick<RolloutEntryInput, 'stable' | 'canary' | 'percent'>): { at: string; message: string }[] {
  const problems: { at: string; message: string }[] = [];
  const labels = labelsOf(subgraph);
  for (const key of ['stable', 'canary'] as const) {
    const label = entry[key];
    if (label === undefined) continue;
    const version = versionOf(subgraph, label);
    if (!version) {
      problems.push({ at: key, message: `"${label}" is not a version of ${subgraph.name} [${labels.join(', ')}]` });
      continue;
    }
    // A regional subgraph's data is served only at home: a region runs a version only on its own instance of it.
    if (subgraph.scope === 'regional' && version.urls[region] === undefined) {
      problems.push({ at: key, message: `${subgraph.name}@${label} has no instance in ${region} (subgraphs.${subgraph.name}.versions.${label}.urls.${region})` });
    }
    if (subgraph.scope === 'global' && Object.keys(version.urls).length === 0) problems.push({ at: key, message: `${subgraph.name}@${label} has no instance in any region` });
  }
  if (entry.canary !== undefined && entry.canary === entry.stable) problems.push({ at: 'canary', message: `the canary is the stable version (${entry.stable})` });
  if (entry.canary === undefined && entry.percent > 0) problems.push({ at: 'percent', message: 'a share of tenants needs a canary version' });
  return problems;
}

/** Checks `rollout.regions` against the declared regions and subgraphs; every problem names its key. */
export function checkRolloutRegions(
  regions: Readonly<Record<string, Readonly<Record<string, Pick<RolloutEntryInput, 'stable' | 'canary' | 'percent'>>>>>,
  subgraphs: readonly Deployable[],
  declared: readonly string[],
  problem: (at: string, message: string) => void,
): void {
  for (const [region, entries] of Object.entries(regions)) {
    if (!declared.includes(region)) problem(`rollout.regions.${region}`, `"${region}" is not one of regions [${declared.join(', ')}]`);
    for (const [name, entry] of Object.entries(entries)) {
      const subgraph = subgraphs.find((s) => s.name === name);
      if (!subgraph) {
        problem(`rollout.regions.${region}.${name}`, `"${name}" is not one of subgraphs [${subgraphs.map((s) => s.name).join(', ')}]`);
        continue;
      }
      for (const { at, message } of rolloutProblems(subgraph, region, entry)) problem(`rollout.regions.${region}.${name}.${at}`, message);
    }
  }
}
