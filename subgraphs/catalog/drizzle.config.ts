import { defineConfig } from 'drizzle-kit';

// Run from the project root: `npm run db:generate` writes SQL migrations without a database.
export default defineConfig({
  dialect: 'postgresql',
  schema: './subgraphs/catalog/db/schema.ts',
  out: './subgraphs/catalog/db/migrations',
});
