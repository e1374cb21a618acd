import { Gauge, type Registry } from 'prom-client';
import { registeredMetric } from '../runtime/registered-metric.js';
import { splitKey, type RolloutEntry, type RolloutKey } from './rollout-state.js';

/** What a region runs of a subgraph: one version (`stable`), a canary beside it (`canary`), or a canary the guard or an operator rolled back. */
export type RolloutPhase = 'stable' | 'canary' | 'rolled_back';

const phases: readonly RolloutPhase[] = ['stable', 'canary', 'rolled_back'];

/** The live entries a gateway serves (rollout-runtime.ts). */
interface RolloutEntries {
  keys(): RolloutKey[];
  entry(region: string, subgraph: string): RolloutEntry | undefined;
}

export function phaseOf(entry: RolloutEntry): RolloutPhase {
  if (entry.rollback !== undefined) return 'rolled_back';
  return entry.canary === undefined ? 'stable' : 'canary';
}

/**
 * The rollouts as this gateway serves them, read at each scrape:
 * `geofed_rollout_state{region,subgraph,state}` (1 on the phase each region is
 * in) and `geofed_rollout_canary_percent{region,subgraph}` (the share of the
 * region's tenants on the canary; 0 without one or once rolled back; pinned
 * tenants are on it besides).
 */
export function rolloutGauges(registry: Registry, rollouts: RolloutEntries): void {
  const live = () => rollouts.keys().flatMap((key) => {
    const { region, subgraph } = splitKey(key);
    const entry = rollouts.entry(region, subgraph);
    return entry ? [{ region, subgraph, entry }] : [];
  });
  registeredMetric(
    registry,
    'geofed_rollout_state',
    () =>
      new Gauge({
        name: 'geofed_rollout_state',
        help: 'Each region\'s rollout of each subgraph: 1 on the phase it is in (stable: one version; canary: a canary beside it; rolled_back), 0 on the others.',
        labelNames: ['region', 'subgraph', 'state'] as const,
        registers: [registry],
        collect() {
          this.reset();
          for (const { region, subgraph, entry } of live()) for (const state of phases) this.set({ region, subgraph, state }, state === phaseOf(entry) ? 1 : 0);
        },
      }),
  );
  registeredMetric(
    registry,
    'geofed_rollout_canary_percent',
    () =>
      new Gauge({
        name: 'geofed_rollout_canary_percent',
        help: 'The share of a region\'s tenants a subgraph\'s canary serves, in percent (0 without a canary or once rolled back; pinned tenants besides).',
        labelNames: ['region', 'subgraph'] as const,
        registers: [registry],
        collect() {
          this.reset();
          for (const { region, subgraph, entry } of live()) this.set({ region, subgraph }, phaseOf(entry) === 'canary' ? entry.percent : 0);
        },
      }),
  );
}
