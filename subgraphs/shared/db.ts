import type { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { openPglite } from './pglite.js';

/** The Drizzle database every subgraph codes against, whichever driver is under it. */
export type Database = PgDatabase<PgQueryResultHKT>;

/** Where a database lives: embedded PGlite (in memory, or in a folder), or a PostgreSQL server. */
export type DatabaseTarget =
  | { readonly driver: 'pglite'; readonly dataDir?: string }
  | { readonly driver: 'postgres'; readonly url: string };

export interface DatabaseHandle {
  readonly db: Database;
  readonly driver: DatabaseTarget['driver'];
  /** Applies the SQL migrations of one subgraph (several subgraphs may share a database). */
  migrate(folder: string, subgraph: string): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Sees every SQL statement Drizzle sends (tests count queries with it). */
  readonly onQuery?: (sql: string) => void;
}

export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
}

export async function openDatabase(target: DatabaseTarget, options: OpenOptions = {}): Promise<DatabaseHandle> {
  const logger = options.onQuery ? { logQuery: (sql: string) => options.onQuery!(sql) } : false;
  if (target.driver === 'pglite') {
    const client: PGlite = await openPglite(target.dataDir);
    const db = drizzlePglite({ client, logger });
    return {
      db: db as unknown as Database,
      driver: 'pglite',
      migrate: (folder, subgraph) => migratePglite(db, { migrationsFolder: folder, migrationsTable: migrationsTable(subgraph) }),
      close: () => client.close(),
    };
  }
  const client = postgres(target.url, { max: 10, connect_timeout: 5, idle_timeout: 30, onnotice: () => {} });
  try {
    await client`select 1`;
  } catch (error) {
    await client.end({ timeout: 0 });
    throw new DatabaseUnavailableError(`cannot connect to PostgreSQL at ${redactUrl(target.url)}: ${(error as Error).message}`);
  }
  const db = drizzlePostgres({ client, logger });
  return {
    db: db as unknown as Database,
    driver: 'postgres',
    migrate: (folder, subgraph) => migratePostgres(db, { migrationsFolder: folder, migrationsTable: migrationsTable(subgraph) }),
    close: () => client.end({ timeout: 5 }),
  };
}

// users and orders share a regional database: each keeps its own migration journal.
function migrationsTable(subgraph: string): string {
  return `__drizzle_migrations_${subgraph}`;
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
