import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

// Node resolves `graphql` to its CommonJS entry (the package has no exports map), and so do
// Apollo's packages; Vite would pick index.mjs. Two copies of graphql reject each other's schemas.
const resolve = { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] };

export default defineConfig({
  resolve,
  test: {
    pool: 'forks',
    // Quiet unless a test fails: the console output of a test (and the logs, which test/fixtures/setup.ts sends
    // through the console) is printed with its failure only. `--silent=false` shows it all; LOG_LEVEL raises the level.
    silent: 'passed-only',
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    setupFiles: ['test/fixtures/setup.ts'],
    projects: [
      // In process, in seconds: `npm run test:unit`. Files share their workers' modules, so Apollo Server and
      // graphql load once per worker rather than once per file (about a second each); a unit file must
      // therefore restore whatever global it changes (spies, fake timers, environment) before it ends.
      { resolve, test: { name: 'unit', include: ['test/**/*.test.ts'], setupFiles: ['test/fixtures/setup.ts'], testTimeout: 10_000, isolate: false } },
      // Real servers on loopback: PostgreSQL, Redis, nginx, subgraphs and gateways. One file at a time, whatever the
      // machine's cores: every file shares one PostgreSQL (max_connections 100). A test stack holds at most 4 connections
      // a database (catalog and four regions) and its admin one, about 11 in practice; connection-budget.e2e.ts alone
      // lets twelve subgraph processes hold up to 48. Two such files side by side could pass 60. Each file's fork exits
      // when the file ends, so nothing a file opened outlives it. After the unit files (groupOrder), which use no database.
      {
        resolve,
        test: { name: 'e2e', include: ['test/**/*.e2e.ts'], setupFiles: ['test/fixtures/setup.ts'], pool: 'forks', maxWorkers: 1, sequence: { groupOrder: 1 }, testTimeout: 30_000, hookTimeout: 180_000 },
      },
    ],
  },
});
