import type { SQL } from 'drizzle-orm';
import type { Database } from './db.js';

/** Rows of a raw statement, whichever driver runs it (postgres.js returns an array, PGlite `{ rows }`). */
export async function rowsOf<Row>(db: Database, statement: SQL): Promise<Row[]> {
  const result = (await db.execute(statement)) as unknown;
  return (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Row[];
}
