import { parseArgs } from 'node:util';
import { loadConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { jwtSecret, signToken } from '../gateway/tokens.js';
import { setLogLevels } from '../runtime/logger.js';
import { runUntilSignalled } from '../runtime/process.js';
import { firstUserOf, seedTenants } from '../subgraphs/index.js';
import { databaseLayoutFromEnv, dataDirectory } from './database-layout.js';
import { startStack } from './stack.js';

// `npm start`: the whole deployment in one process, on PGlite unless database URLs are set.
const { values } = parseArgs({ options: { memory: { type: 'boolean', default: false } } });
const env = gatewayEnv();
setLogLevels({ log: env.logLevel, audit: env.auditLogLevel });

await runUntilSignalled(async () => {
  const started = performance.now();
  const file = env.configPath;
  const config = loadConfig(file);
  const databases = databaseLayoutFromEnv(config.regions, process.env, { memory: values.memory });
  const stack = await startStack({ config, databases, ports: 'config', reload: { config: () => loadConfig(file), watch: true } });
  // Schema edits reload by themselves; SIGHUP forces a reload, as in `npm run gateway`.
  process.on('SIGHUP', () => void stack.gateway.reload());
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const secret = jwtSecret(env);
  const tokens = await Promise.all(
    seedTenants.map(async (tenant) => {
      const user = firstUserOf(tenant.id)!;
      return `  ${tenant.id.padEnd(9)} (${tenant.region}, ${user.name}):\n    ${await signToken({ tenantId: tenant.id, userId: user.id, roles: ['admin'] }, secret)}`;
    }),
  );
  const drivers = [databases.catalog, ...Object.values(databases.regions)].map((t) => t.driver);
  const storage = drivers.every((d) => d === 'pglite') ? (values.memory ? 'PGlite in memory' : `PGlite in ${dataDirectory(process.env)}`) : 'PostgreSQL/PGlite per database URL';
  const rows = stack.config.subgraphs.map((s) => `  ${s.name.padEnd(8)} ${config.regions.map((r) => `${r}=${new URL(s.urls[r]!).port}`).join('  ')}`);
  console.log(`
geofed is ready in ${seconds}s (gateway region: ${config.gateway.region}; storage: ${storage})

  GraphQL  ${stack.gateway.url}/graphql
  health   ${stack.gateway.url}/readyz   metrics ${stack.gateway.url}/metrics

Subgraph ports by region:
${rows.join('\n')}

Dev tokens (first user of each tenant, with the admin role):
${tokens.join('\n')}

Try:
  curl -s ${stack.gateway.url}/graphql -H 'content-type: application/json' -d '{"query":"{ products(first: 3) { name priceCents } }"}'

Ctrl-C stops everything.`);
  return stack;
});
