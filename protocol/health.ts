/**
 * The health probe a gateway sends each subgraph instance (`{ __typename }`,
 * signed like any fetch) and what an instance may add to its answer. The
 * probe asks with a request extension; an instance that has more to say than
 * "up" answers in the response extension of the same name. Both sides read
 * only this file: neither knows the other's code.
 */
export const healthExtension = 'geofedHealth';

/** The probe's body: a trivial query, and the extension asking for the instance's health detail. */
export const healthProbe = { query: '{ __typename }', extensions: { [healthExtension]: true } } as const;

/** A catalog instance's read replica, as its last health check found it (subgraphs/catalog/read-router.ts). */
export interface ReplicaHealth {
  /** Whether reads go to the replica now (false: to the primary). */
  readonly healthy: boolean;
  /** WAL bytes the replica had not replayed at the last check; null while unknown (no check yet, or the primary did not answer). */
  readonly lagBytes: number | null;
}

/** What an instance adds to its answer to a probe. `replica` is null for an instance without a replica (it reads its primary). */
export interface HealthDetail {
  readonly replica?: ReplicaHealth | null;
}

/** The health detail of a probe's answer, or undefined when there is none or it is not of this shape (an older instance, another server). */
export function healthDetailOf(extensions: unknown): HealthDetail | undefined {
  if (typeof extensions !== 'object' || extensions === null) return undefined;
  const detail = (extensions as Record<string, unknown>)[healthExtension];
  if (typeof detail !== 'object' || detail === null) return undefined;
  const replica = (detail as { replica?: unknown }).replica;
  if (replica === null) return { replica: null };
  if (typeof replica !== 'object') return {};
  const { healthy, lagBytes } = replica as { healthy?: unknown; lagBytes?: unknown };
  if (typeof healthy !== 'boolean' || !(lagBytes === null || (typeof lagBytes === 'number' && Number.isFinite(lagBytes) && lagBytes >= 0))) return {};
  return { replica: { healthy, lagBytes } };
}
