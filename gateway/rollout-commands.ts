import { z } from 'zod';
import { regionName } from '../runtime/settings.js';
import type { GeofedConfig } from './config.js';
import { rolloutProblems } from './rollout-settings.js';
import type { RolloutEntry } from './rollout-state.js';
import { versionLabel } from './versions.js';

/** What `npx geofed rollout start|promote|rollback` asks a gateway (rollout-admin.ts), as JSON. */
export const rolloutCommandSchema = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('start'),
    subgraph: z.string().min(1),
    version: versionLabel,
    region: regionName,
    percent: z.number().min(0, 'a share from 0 to 100').max(100, 'a share from 0 to 100'),
    pinned: z.array(z.string().min(1).max(200)).optional(),
  }),
  z.strictObject({ action: z.literal('promote'), subgraph: z.string().min(1), version: versionLabel, region: regionName }),
  z.strictObject({ action: z.literal('rollback'), subgraph: z.string().min(1), version: versionLabel.optional(), region: regionName }),
]);

export type RolloutCommand = z.output<typeof rolloutCommandSchema>;

/**
 * The entry a command leaves, from the one in force (`current`, revision 0 when only the config has it):
 * - `start`: the version becomes the region's canary for `percent` of its tenants (and the pinned ones), the
 *   stable version unchanged; started again, a canary's share changes and a rollback is forgotten;
 * - `promote`: the version becomes the region's stable one for every tenant, and there is no canary;
 * - `rollback`: the canary keeps its version (its supergraph stays loaded) and serves nobody, pinned tenants
 *   included, until it is started again.
 * Problems are whole sentences, naming the subgraph and region.
 */
export function nextEntry(config: GeofedConfig, current: RolloutEntry | undefined, command: RolloutCommand, now: Date): { entry: RolloutEntry } | { problems: string[] } {
  const subgraph = config.subgraphs.find((s) => s.name === command.subgraph);
  if (!subgraph) return { problems: [`"${command.subgraph}" is not one of subgraphs [${config.subgraphs.map((s) => s.name).join(', ')}]`] };
  if (!config.regions.includes(command.region)) return { problems: [`"${command.region}" is not one of regions [${config.regions.join(', ')}]`] };
  const running = current ?? { stable: subgraph.version, percent: 0, pinned: [], revision: 0 };
  const base = { revision: running.revision + 1, updatedAt: now.toISOString() };
  let entry: RolloutEntry;
  if (command.action === 'start') {
    if (command.version === running.stable) return { problems: [`${command.subgraph}@${command.version} is already the stable version in ${command.region}: start another version, or promote it`] };
    const pinned = command.pinned ?? (running.canary === command.version ? running.pinned : []);
    entry = { stable: running.stable, canary: command.version, percent: command.percent, pinned, ...base };
  } else if (command.action === 'promote') {
    entry = { stable: command.version, percent: 0, pinned: [], ...base };
  } else {
    const canary = running.canary;
    if (canary === undefined || (command.version !== undefined && command.version !== canary)) {
      return { problems: [`${command.subgraph} has no canary${command.version === undefined ? '' : ` ${command.version}`} in ${command.region} to roll back (stable: ${running.stable})`] };
    }
    entry = { ...running, percent: 0, ...base, rollback: { at: base.updatedAt, by: 'operator', reason: 'rolled back by an operator', version: canary } };
  }
  const problems = rolloutProblems(subgraph, command.region, entry).map(({ message }) => `${command.subgraph} in ${command.region}: ${message}`);
  return problems.length > 0 ? { problems } : { entry };
}
