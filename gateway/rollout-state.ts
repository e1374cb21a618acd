import { createHash } from 'node:crypto';

/** Why a canary's share went to 0, and who sent it there. */
export interface Rollback {
  readonly at: string;
  readonly by: 'guard' | 'operator';
  readonly reason: string;
  /** The canary version that was rolled back. */
  readonly version: string;
}

/**
 * One subgraph in one region, live: the config's `rollout.regions` entry until a rollout command or the guard
 * writes one to the store, which then wins. `revision` grows with every write (the guard's compare-and-set).
 */
export interface RolloutEntry {
  readonly stable: string;
  readonly canary?: string | undefined;
  readonly percent: number;
  readonly pinned: readonly string[];
  readonly revision: number;
  readonly updatedAt?: string;
  readonly rollback?: Rollback;
}

/** `eu/users`: where an entry is kept. */
export type RolloutKey = `${string}/${string}`;

export const rolloutKey = (region: string, subgraph: string): RolloutKey => `${region}/${subgraph}`;

export function splitKey(key: string): { region: string; subgraph: string } {
  const at = key.indexOf('/');
  return { region: key.slice(0, at), subgraph: key.slice(at + 1) };
}

/** What a region runs of a subgraph, live or as the config says. */
export interface RolloutView {
  entry(region: string, subgraph: string): RolloutEntry | undefined;
}

/** A tenant's place in [0, 10000) for a subgraph's rollouts: the same in every gateway, and for every share. */
function bucketOf(tenantId: string, subgraph: string): number {
  return createHash('sha256').update(`${subgraph}\n${tenantId}`).digest().readUInt32BE(0) % 10_000;
}

/**
 * Whether a tenant is on the canary side: pinned, or its hash under the share. A tenant on the canary at 10 %
 * stays on it at 20 %; a rolled-back canary has nobody, pinned tenants included, until it is started again.
 */
export function onCanary(entry: Pick<RolloutEntry, 'canary' | 'percent' | 'pinned' | 'rollback'>, subgraph: string, tenantId: string): boolean {
  if (entry.canary === undefined || entry.rollback !== undefined) return false;
  return entry.pinned.includes(tenantId) || bucketOf(tenantId, subgraph) < Math.round(entry.percent * 100);
}
