import type { CompositionResult } from './compose.js';
import type { GeofedConfig } from './config.js';
import { onCanary, type RolloutView } from './rollout-state.js';
import { instanceName, subgraphAt } from './versions.js';

/**
 * One set of subgraph versions, composed into one supergraph and served by one Apollo server (variant-server.ts).
 * Its id is what the `x-geofed-version` header says: `catalog@v1,users@v2,orders@v1`.
 */
export interface Variant {
  readonly id: string;
  /** The version label of each subgraph. */
  readonly versions: Readonly<Record<string, string>>;
  /** Who it serves, for messages and the schema check: `eu` (stable), `eu canary users@v2`. */
  readonly servedTo: readonly string[];
}

type Labels = Readonly<Record<string, string>>;

const idOf = (config: GeofedConfig, labels: Labels) => config.subgraphs.map((s) => `${s.name}@${labels[s.name]}`).join(',');

/** What a region runs of each subgraph as the config says (the live labels merged in by rollout-runtime.ts). */
function regionLabels(config: GeofedConfig, region: string): { stable: Record<string, string>; canaries: { subgraph: string; label: string }[] } {
  const entries = config.rollout.regions[region] ?? {};
  const stable = Object.fromEntries(config.subgraphs.map((s) => [s.name, entries[s.name]?.stable ?? s.version]));
  const canaries = config.subgraphs.flatMap((s) => {
    const canary = entries[s.name]?.canary;
    return canary === undefined ? [] : [{ subgraph: s.name, label: canary }];
  });
  return { stable, canaries };
}

/**
 * Every variant a gateway serves: each region's stable one and, for each combination of its canaries, a canary
 * one, whichever gateway runs it (an operation is planned on its tenant's home region's variant). Regions that
 * run the same versions share one. The base variant (every subgraph's base entry) comes first when it is used.
 */
export function variantsOf(config: GeofedConfig): Variant[] {
  const byId = new Map<string, { versions: Labels; servedTo: string[] }>();
  const add = (labels: Labels, who: string) => {
    const id = idOf(config, labels);
    const known = byId.get(id) ?? { versions: labels, servedTo: [] };
    known.servedTo.push(who);
    byId.set(id, known);
  };
  for (const region of config.regions) {
    const { stable, canaries } = regionLabels(config, region);
    add(stable, region);
    for (let mask = 1; mask < 2 ** canaries.length; mask += 1) {
      const chosen = canaries.filter((_, index) => (mask >> index) & 1);
      add({ ...stable, ...Object.fromEntries(chosen.map((c) => [c.subgraph, c.label])) }, `${region} canary ${chosen.map((c) => `${c.subgraph}@${c.label}`).join(' ')}`);
    }
  }
  const base = idOf(config, Object.fromEntries(config.subgraphs.map((s) => [s.name, s.version])));
  return [...byId].map(([id, v]) => ({ id, ...v })).sort((a, b) => Number(b.id === base) - Number(a.id === base));
}

/**
 * The variant of one request: the caller's home region's (the gateway's own for an anonymous caller), on the
 * canary side of a subgraph when the live share puts the tenant there. A canary the live state names but this
 * pipeline was not built with (a reload is on its way) is not served yet: stable until then.
 */
export function variantIdFor(config: GeofedConfig, live: RolloutView, region: string, tenantId: string | undefined): string {
  const { stable, canaries } = regionLabels(config, region);
  const labels: Record<string, string> = { ...stable };
  if (tenantId !== undefined) {
    for (const { subgraph, label } of canaries) {
      const entry = live.entry(region, subgraph);
      if (entry?.canary === label && onCanary(entry, subgraph, tenantId)) labels[subgraph] = label;
    }
  }
  return idOf(config, labels);
}

/** The config as one variant deploys it: each subgraph's SDL and instances of its version (for composition). */
export function variantConfig(config: GeofedConfig, variant: Variant): GeofedConfig {
  return { ...config, subgraphs: config.subgraphs.map((s) => subgraphAt(s, variant.versions[s.name]!)) };
}

/** The versions of a variant worth naming: those of subgraphs that declare other versions (`users@v2`). */
export function versionNote(config: GeofedConfig, variant: Variant): string | undefined {
  const named = config.subgraphs.filter((s) => Object.keys(s.versions).length > 0).map((s) => `${s.name}@${variant.versions[s.name]}`);
  return named.length === 0 ? undefined : named.join(', ');
}

/** The name of a subgraph version's instances, for data sources, metrics and /status. */
export function variantInstance(config: GeofedConfig, variant: Variant, subgraph: string): string {
  const found = config.subgraphs.find((s) => s.name === subgraph);
  return found ? instanceName(found, variant.versions[subgraph]!) : subgraph;
}

export type VariantCompositions =
  | { readonly ok: true; readonly supergraphs: ReadonlyMap<string, string> }
  | { readonly ok: false; readonly stage: 'sources' | 'composition'; readonly errors: readonly string[] };

/** Composes every variant; the base one is `baseSdl` (already composed, or the committed supergraph file). */
export async function composeVariants(config: GeofedConfig, variants: readonly Variant[], compose: (config: GeofedConfig) => Promise<CompositionResult>, baseSdl: string): Promise<VariantCompositions> {
  const baseId = idOf(config, Object.fromEntries(config.subgraphs.map((s) => [s.name, s.version])));
  const results = await Promise.all(variants.map(async (v) => [v, v.id === baseId ? ({ ok: true, supergraphSdl: baseSdl } as const) : await compose(variantConfig(config, v))] as const));
  const failed = results.flatMap(([v, r]) => (r.ok ? [] : [{ v, r }]));
  if (failed.length > 0) {
    return { ok: false, stage: failed.some(({ r }) => r.stage === 'sources') ? 'sources' : 'composition', errors: failed.flatMap(({ v, r }) => r.errors.map((e) => `${v.id} (${v.servedTo.join('; ')}): ${e}`)) };
  }
  return { ok: true, supergraphs: new Map(results.map(([v, r]) => [v.id, (r as { supergraphSdl: string }).supergraphSdl])) };
}
