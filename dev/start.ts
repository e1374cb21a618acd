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
// `npm start -- --regions`: a gateway per region too, each on the port of gateways.<region>.url.
const { values } = parseArgs({ options: { memory: { type: 'boolean', default: false }, regions: { type: 'boolean', default: false } } });
const env = gatewayEnv();
setLogLevels({ log: env.logLevel, audit: env.auditLogLevel });

await runUntilSignalled(async () => {
  const started = performance.now();
  const file = env.configPath;
  // With one gateway, it serves every region by fetching their subgraphs itself (routing.remote_execution: fetch).
  const load = () => {
    const loaded = loadConfig(file);
    return values.regions ? loaded : { ...loaded, routing: { ...loaded.routing, remoteExecution: 'fetch' as const } };
  };
  const config = load();
  const databases = databaseLayoutFromEnv(config.regions, process.env, { memory: values.memory });
  const stack = await startStack({ config, databases, ports: 'config', gateways: values.regions ? 'per-region' : 'one', reload: { config: load, watch: true } });
  // Schema edits reload by themselves; SIGHUP forces a reload, as in `npm run gateway`.
  process.on('SIGHUP', () => void stack.gateway.reload());
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  // Dev tokens carry no role: a tenant's admin and the platform operator are minted on purpose (npx geofed token --role …).
  // Production prints neither tokens nor names.
  const secret = env.production ? undefined : jwtSecret(env);
  const tokens = secret
    ? await Promise.all(
        seedTenants.map(async (tenant) => {
          const user = firstUserOf(tenant.id)!;
          return `  ${tenant.id.padEnd(9)} (${tenant.region}, ${user.name}):\n    ${await signToken({ tenantId: tenant.id, userId: user.id, roles: [] }, secret)}`;
        }),
      )
    : [];
  const drivers = [databases.catalog, ...Object.values(databases.regions)].map((t) => t.driver);
  const storage = drivers.every((d) => d === 'pglite') ? (values.memory ? 'PGlite in memory' : `PGlite in ${dataDirectory(process.env)}`) : 'PostgreSQL/PGlite per database URL';
  const rows = stack.config.subgraphs.map((s) => `  ${s.name.padEnd(8)} ${config.regions.map((r) => `${r}=${new URL(s.urls[r]!).port}`).join('  ')}`);
  const gateways = [...stack.gateways].sort(([a], [b]) => config.regions.indexOf(a) - config.regions.indexOf(b)).map(([region, gateway]) => `  ${region.padEnd(6)} ${gateway.url}/graphql`);
  console.log(`
geofed is ready in ${seconds}s (storage: ${storage})

Gateways (GraphQL; /readyz, /metrics beside it)${values.regions ? ', one per region: a tenant\'s operations run at its home gateway' : ': one serves every region (start with --regions for one per region)'}:
${gateways.join('\n')}

Subgraph ports by region:
${rows.join('\n')}

${
  tokens.length > 0
    ? `Dev tokens (first user of each tenant, no role; \`npx geofed token --tenant globex --role platform-operator\` may write the catalog):\n${tokens.join('\n')}`
    : 'No dev tokens in production: mint tokens with your identity provider.'
}

Try:
  curl -s ${stack.gateway.url}/graphql -H 'content-type: application/json' -d '{"query":"{ products(first: 3) { name priceCents } }"}'

Ctrl-C stops everything.`);
  return stack;
});
