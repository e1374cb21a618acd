import type { GeofedConfig } from './config.js';
import { p95Of } from './rollout-guard.js';
import type { RolloutRuntime } from './rollout-runtime.js';
import { splitKey, type RolloutEntry, type RolloutKey } from './rollout-state.js';
import type { SideCounts } from './rollout-store.js';
import { labelsOf } from './versions.js';

export interface SideSummary {
  readonly requests: number;
  readonly errors: number;
  readonly p95Ms: number | null;
}

export interface RolloutStatusEntry extends RolloutEntry {
  readonly region: string;
  readonly subgraph: string;
  /** `store`: written by a command or the guard; `config`: as supergraph.yaml starts the region. */
  readonly source: 'store' | 'config';
  /** The region's counts in the guard's window, every gateway's together (a canary only). */
  readonly window?: { readonly canary: SideSummary; readonly stable: SideSummary };
}

/** What `npx geofed rollout status` shows, and `GET /rollout` answers. */
export interface RolloutStatus {
  readonly store: 'memory' | 'upstash';
  /** The gateway that answered. */
  readonly gatewayRegion: string;
  readonly windowMs: number;
  readonly entries: readonly RolloutStatusEntry[];
  /** Each version of each subgraph and the regions that run it (stable, or canary with a share); none: retired. */
  readonly versions: readonly { readonly subgraph: string; readonly version: string; readonly regions: readonly string[] }[];
}

/** The region's counts of a canary's window; none when the store does not answer (the state shown is the last read). */
async function windowOf(runtime: RolloutRuntime, key: RolloutKey, revision: number, slots: readonly number[]): Promise<RolloutStatusEntry['window']> {
  try {
    const [canary, stable] = await Promise.all((['canary', 'stable'] as const).map((side) => runtime.store.counts(key, revision, side, slots)));
    return { canary: summary(canary!), stable: summary(stable!) };
  } catch {
    return undefined;
  }
}

const summary = (counts: SideCounts): SideSummary => ({ requests: counts.requests, errors: counts.errors, p95Ms: p95Of(counts) ?? null });

export async function rolloutStatus(runtime: RolloutRuntime, config: GeofedConfig): Promise<RolloutStatus> {
  await runtime.refresh();
  const slots = runtime.windowSlots();
  const entries: RolloutStatusEntry[] = [];
  for (const key of runtime.keys()) {
    const { region, subgraph } = splitKey(key);
    const entry = runtime.entry(region, subgraph);
    if (!entry) continue;
    const window = entry.canary === undefined ? undefined : await windowOf(runtime, key, entry.revision, slots);
    entries.push({ ...entry, region, subgraph, source: runtime.sourceOf(region, subgraph), ...(window ? { window } : {}) });
  }
  const runs = (region: string, subgraph: string, label: string) => {
    const entry = runtime.entry(region, subgraph);
    const stable = entry?.stable ?? config.subgraphs.find((s) => s.name === subgraph)!.version;
    return stable === label || (entry?.canary === label && entry.rollback === undefined && (entry.percent > 0 || entry.pinned.length > 0));
  };
  const versions = config.subgraphs.flatMap((s) => labelsOf(s).map((version) => ({ subgraph: s.name, version, regions: config.regions.filter((r) => runs(r, s.name, version)) })));
  return { store: runtime.storeKind, gatewayRegion: config.gateway.region, windowMs: config.rollout.guard.windowMs, entries, versions };
}

const side = (s: SideSummary) => `${s.requests} requests, ${s.errors} errors${s.requests > 0 ? ` (${((100 * s.errors) / s.requests).toFixed(1)} %)` : ''}, p95 ${s.p95Ms === null ? '-' : `${s.p95Ms.toFixed(1)} ms`}`;

/** The status as lines for a terminal. */
export function formatStatus(status: RolloutStatus, region?: string): string {
  const lines = [`rollouts (store: ${status.store}, answered by the ${status.gatewayRegion} gateway)`];
  const shown = status.entries.filter((e) => region === undefined || e.region === region);
  if (shown.length === 0) lines.push('  no rollout: every region runs the base version of every subgraph');
  for (const e of shown) {
    const canary = e.canary === undefined ? 'no canary' : `canary ${e.canary} at ${e.percent} %${e.pinned.length > 0 ? ` and pinned ${e.pinned.join(', ')}` : ''}`;
    lines.push(`  ${e.region} ${e.subgraph}: stable ${e.stable}, ${canary} (revision ${e.revision}, from the ${e.source}${e.updatedAt ? `, ${e.updatedAt}` : ''})`);
    if (e.rollback) lines.push(`    rolled back by the ${e.rollback.by} at ${e.rollback.at}: ${e.rollback.reason}`);
    if (e.window) lines.push(`    last ${status.windowMs / 1000} s: canary ${side(e.window.canary)}; stable ${side(e.window.stable)}`);
  }
  lines.push('versions');
  for (const v of status.versions) lines.push(`  ${v.subgraph}@${v.version}: ${v.regions.length === 0 ? 'retired (no region runs it)' : v.regions.join(', ')}`);
  return lines.join('\n');
}
