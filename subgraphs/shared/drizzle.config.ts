import { defineConfig } from 'drizzle-kit';

// Run from the project root. Holds custom migrations shared by the regional subgraphs.
export default defineConfig({
  dialect: 'postgresql',
  schema: './subgraphs/shared/db/schema.ts',
  out: './subgraphs/shared/db/migrations',
});
