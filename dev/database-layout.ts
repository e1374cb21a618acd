import { join, resolve } from 'node:path';
import { catalogDatabaseVariable, catalogReplicaVariable, regionDatabaseVariable, type DatabaseTarget } from '../subgraphs/index.js';

/** Where each database of a one-process deployment lives: the global catalog and one per region (users and orders share it). */
export interface DatabaseLayout {
  /** The catalog's primary: migrations and writes. */
  readonly catalog: DatabaseTarget;
  /** Streaming replicas of the catalog by region (PostgreSQL only); a region without one reads the primary. */
  readonly catalogReplicas: Readonly<Record<string, DatabaseTarget>>;
  readonly regions: Readonly<Record<string, DatabaseTarget>>;
}

export interface LayoutOptions {
  /** PGlite databases in memory instead of under the data folder. */
  readonly memory?: boolean;
}

/** The folder of `npm start`'s PGlite databases (`GEOFED_DATA_DIR`, default `.geofed/data`). */
export function dataDirectory(env: NodeJS.ProcessEnv): string {
  return resolve(env.GEOFED_DATA_DIR || '.geofed/data');
}

/**
 * The dev runner's databases, from the same variables a subgraph instance
 * reads: PostgreSQL where a connection URL is set, PGlite everywhere else (in
 * the data folder, or in memory).
 */
export function databaseLayoutFromEnv(regions: readonly string[], env: NodeJS.ProcessEnv, { memory = false }: LayoutOptions = {}): DatabaseLayout {
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
