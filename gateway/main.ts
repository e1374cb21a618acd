import { parseArgs } from 'node:util';
import { defaultConfigPath, loadConfig } from './config.js';
import { dropInConfig, dropInDirectory, readComposedSupergraph } from './drop-in.js';
import { startGateway } from './gateway.js';
import { runUntilSignalled } from './process.js';

// `npm run gateway`: the gateway alone, as it is deployed in each region; subgraph URLs come from the config and environment.
// `npm run gateway -- --supergraph FILE [--config supergraph.yaml]`: drop-in mode, any composed supergraph.
const { values } = parseArgs({ options: { supergraph: { type: 'string' }, config: { type: 'string' } } });

await runUntilSignalled(async () => {
  const host = process.env.HOST ?? '127.0.0.1';
  const dropIn = values.supergraph;
  const load = dropIn ? () => dropInConfig(dropIn, values.config) : () => loadConfig(values.config ?? defaultConfigPath());
  const config = load();
  const gateway = await startGateway({
    config,
    host,
    reloadConfig: load,
    watch: true,
    ...(dropIn ? { compose: readComposedSupergraph, directory: dropInDirectory(config.rateLimits.defaultPlan) } : {}),
  });
  process.on('SIGHUP', () => void gateway.reload());
  console.log(`geofed gateway (region ${config.gateway.region}) serving ${gateway.url}/graphql`);
  return gateway;
});
