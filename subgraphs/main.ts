import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, defaultConfigPath, findSubgraph, loadConfig } from '../gateway/config.js';
import { runUntilSignalled } from '../gateway/process.js';
import { subgraphSecrets } from '../gateway/signed-context.js';
import { portOf } from '../gateway/stack.js';
import { subgraphKinds } from './registry.js';
import { catalogDatabaseVariable, catalogReplicaVariable, dataDirectory, regionDatabaseVariable } from './shared/database-plan.js';
import { openDatabase, type DatabaseTarget } from './shared/db.js';
import { startSubgraph } from './shared/subgraph-server.js';

// `npm run subgraph -- users --region eu`: one subgraph instance for one region, as a team deploys it.
// On PGlite it gets a data folder of its own: a PGlite folder belongs to one process.
const { positionals, values } = parseArgs({ allowPositionals: true, options: { region: { type: 'string' } } });

await runUntilSignalled(async () => {
  const [name] = positionals;
  const kind = name === undefined ? undefined : subgraphKinds[name];
  if (!name || !kind) throw new ConfigError(`usage: npm run subgraph -- <${Object.keys(subgraphKinds).join('|')}> --region <region>`);
  const config = loadConfig(defaultConfigPath());
  const region = values.region ?? config.gateway.region;
  const subgraph = findSubgraph(config, name);
  const url = subgraph.urls[region];
  if (url === undefined) throw new ConfigError(`--region: "${region}" is not one of regions [${config.regions.join(', ')}]`);
  const variable = kind.database === 'catalog' ? catalogDatabaseVariable : regionDatabaseVariable(region);
  const databaseUrl = process.env[variable];
  const target: DatabaseTarget = databaseUrl ? { driver: 'postgres', url: databaseUrl } : { driver: 'pglite', dataDir: join(dataDirectory(process.env), `${name}-${region}`) };
  const handle = await openDatabase(target);
  const replicaUrl = kind.database === 'catalog' ? process.env[catalogReplicaVariable(region)] : undefined;
  const replica = replicaUrl ? await openDatabase({ driver: 'postgres', url: replicaUrl }).catch(async (error: unknown) => {
    await handle.close();
    throw error;
  }) : undefined;
  try {
    await kind.prepare(handle, region);
    const secrets = subgraphSecrets();
    const definition = kind.build({
      region,
      schemaPath: subgraph.schemaPath,
      database: handle,
      ...(replica ? { replica } : {}),
      replicaSettings: config.replicas,
      catalogUrl: findSubgraph(config, 'catalog').urls[region]!,
      signingSecret: secrets.current,
    });
    const running = await startSubgraph(definition, {
      host: process.env.HOST ?? '127.0.0.1',
      port: portOf(url),
      security: { secrets: secrets.accepted, windowSeconds: config.security.signatureWindowSeconds },
      production: process.env.NODE_ENV === 'production',
    });
    console.log(`geofed ${name} (${region}, ${handle.driver}) serving ${running.url}`);
    return {
      async stop() {
        await running.stop();
        await replica?.close();
        await handle.close();
      },
    };
  } catch (error) {
    await replica?.close();
    await handle.close();
    throw error;
  }
});
