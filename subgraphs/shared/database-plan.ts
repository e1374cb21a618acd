import { join, resolve } from 'node:path';
import type { DatabaseTarget } from './db.js';

/** Where each database of a deployment lives: the global catalog and one per region (users and orders share it). */
export interface DatabasePlan {
  /** The catalog's primary: migrations and writes. */
  readonly catalog: DatabaseTarget;
  /** Streaming replicas of the catalog by region (PostgreSQL only); a region without one reads the primary. */
  readonly catalogReplicas: Readonly<Record<string, DatabaseTarget>>;
  readonly regions: Readonly<Record<string, DatabaseTarget>>;
}

export interface PlanOptions {
  /** PGlite databases in memory instead of under the data folder. */
  readonly memory?: boolean;
}

export const catalogDatabaseVariable = 'GEOFED_CATALOG_DATABASE_URL';
export function catalogReplicaVariable(region: string): string {
  return `GEOFED_CATALOG_REPLICA_URL_${region.toUpperCase()}`;
}
export function regionDatabaseVariable(region: string): string {
  return `GEOFED_DATABASE_URL_${region.toUpperCase()}`;
}
export function dataDirectory(env: NodeJS.ProcessEnv): string {
  return resolve(env.GEOFED_DATA_DIR ?? '.geofed/data');
}

/**
 * PostgreSQL where a connection URL is set, PGlite everywhere else (in
 * `GEOFED_DATA_DIR`, default `.geofed/data`, or in memory).
 */
export function databasePlanFromEnv(regions: readonly string[], env: NodeJS.ProcessEnv, { memory = false }: PlanOptions = {}): DatabasePlan {
  const pglite = (folder: string): DatabaseTarget => (memory ? { driver: 'pglite' } : { driver: 'pglite', dataDir: join(dataDirectory(env), folder) });
  const postgresOr = (url: string | undefined, folder: string): DatabaseTarget => (url ? { driver: 'postgres', url } : pglite(folder));
  return {
    catalog: postgresOr(env[catalogDatabaseVariable], 'catalog'),
    catalogReplicas: Object.fromEntries(
      regions.flatMap((region) => {
        const url = env[catalogReplicaVariable(region)];
        return url ? [[region, { driver: 'postgres', url } as DatabaseTarget]] : [];
      }),
    ),
    regions: Object.fromEntries(regions.map((region) => [region, postgresOr(env[regionDatabaseVariable(region)], region)])),
  };
}
