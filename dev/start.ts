import { loadConfig } from '../gateway/config.js';
import { gatewayEnv, type GatewayEnv } from '../gateway/env.js';
import { parseCommandArgs, runCommand, type Command } from '../runtime/command.js';
import { logger, setLogLevels } from '../runtime/logger.js';
import { runUntilSignalled } from '../runtime/process.js';
import { firstUserOf, seedTenants } from '../subgraphs/index.js';
import { databaseLayoutFromEnv, dataDirectory, type DatabaseLayout } from './database-layout.js';
import type { RunningStack } from './stack.js';
import { openStackDatabases } from './stack-databases.js';

const usage = `usage: npm start [-- --memory] [-- --regions]
  Every subgraph of every region and the gateway, in one process. The databases are PGlite
  under GEOFED_DATA_DIR (default .geofed/data), created, migrated and seeded on the first start,
  except those GEOFED_CATALOG_DATABASE_URL or GEOFED_DATABASE_URL_<REGION> name (PostgreSQL).
  --memory    PGlite databases in memory instead: nothing is written, each start seeds afresh
  --regions   a gateway per region too, each on the port of gateways.<region>.url
Ctrl-C or SIGTERM drains in-flight requests and stops everything.`;

/** Each step as it begins, where the banner goes; at LOG_LEVEL=warn or quieter (the test suites) there is none. */
function progress(step: string): void {
  if (logger.isLevelEnabled('info')) console.log(step);
}

interface BannerOptions {
  readonly stack: RunningStack;
  readonly layout: DatabaseLayout;
  readonly memory: boolean;
  readonly perRegion: boolean;
  readonly env: GatewayEnv;
}

async function banner({ stack, layout, memory, perRegion, env }: BannerOptions): Promise<string> {
  const { regions } = stack.config;
  // Dev tokens carry no role: a tenant's admin and the platform operator are minted on purpose (npx geofed token --role …).
  // Production prints neither tokens nor names.
  const { jwtSecret, signToken } = await import('../gateway/tokens.js');
  const secret = env.production ? undefined : jwtSecret(env);
  const tokens = secret
    ? await Promise.all(
        seedTenants.map(async (tenant) => {
          const user = firstUserOf(tenant.id)!;
          return `  ${tenant.id.padEnd(9)} (${tenant.region}, ${user.name}):\n    ${await signToken({ tenantId: tenant.id, userId: user.id, roles: [] }, secret)}`;
        }),
      )
    : [];
  const drivers = [layout.catalog, ...Object.values(layout.regions)].map((t) => t.driver);
  const storage = drivers.every((d) => d === 'pglite') ? (memory ? 'PGlite in memory' : `PGlite in ${dataDirectory(process.env)}`) : 'PostgreSQL/PGlite per database URL';
  const rows = stack.config.subgraphs.map((s) => `  ${s.name.padEnd(8)} ${regions.map((r) => `${r}=${new URL(s.urls[r]!).port}`).join('  ')}`);
  const gateways = [...stack.gateways].sort(([a], [b]) => regions.indexOf(a) - regions.indexOf(b)).map(([region, gateway]) => `  ${region.padEnd(6)} ${gateway.url}/graphql`);
  // From the start of the process, module loading included, to the moment the banner is printed: the time a user waits.
  return `
geofed is ready in ${process.uptime().toFixed(1)}s (storage: ${storage})

Gateways (GraphQL; /readyz, /metrics beside it)${perRegion ? ', one per region: a tenant\'s operations run at its home gateway' : ': one serves every region (start with --regions for one per region)'}:
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

Ctrl-C stops everything.`;
}

/** `npm start`: the whole deployment in one process, on PGlite unless database URLs are set. */
const startCommand: Command = {
  usage,
  async run(args) {
    const { values } = parseCommandArgs(args, { memory: { type: 'boolean', default: false }, regions: { type: 'boolean', default: false } });
    const env = gatewayEnv();
    setLogLevels({ log: env.logLevel, audit: env.auditLogLevel });
    const file = env.configPath;
    // With one gateway, it serves every region by fetching their subgraphs itself (routing.remote_execution: fetch).
    const load = () => {
      const loaded = loadConfig(file);
      return values.regions ? loaded : { ...loaded, routing: { ...loaded.routing, remoteExecution: 'fetch' as const } };
    };
    let started: { readonly stack: RunningStack; readonly layout: DatabaseLayout } | undefined;
    await runUntilSignalled(async () => {
      const config = load();
      const layout = databaseLayoutFromEnv(config.regions, process.env, { memory: values.memory });
      // The databases come first, and the gateway's and the subgraphs' modules load meanwhile: PGlite compiles its
      // WASM and new databases are copied on threads of their own, so the two overlap. startStack awaits the
      // outcome; until then a failure must not count as unhandled (it would end the process with a stack trace
      // instead of its message).
      const opened = openStackDatabases({ config, layout, env: process.env, onProgress: progress });
      opened.catch(() => undefined);
      const { startStack } = await import('./stack.js');
      const stack = await startStack({ config, databases: opened, ports: 'config', gateways: values.regions ? 'per-region' : 'one', reload: { config: load, watch: true }, onProgress: progress, events: true });
      // Schema edits reload by themselves; SIGHUP forces a reload, as in `npm run gateway`.
      process.on('SIGHUP', () => void stack.gateway.reload());
      started = { stack, layout };
      return stack;
    });
    // Printed once runUntilSignalled handles Ctrl-C: whoever stops the process on reading the banner gets a drain.
    console.log(await banner({ ...started!, memory: values.memory, perRegion: values.regions, env }));
  },
};

await runCommand('npm start', startCommand, process.argv.slice(2));
