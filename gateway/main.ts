import { defaultConfigPath, loadConfig } from './config.js';
import { startGateway } from './gateway.js';
import { runUntilSignalled } from './process.js';

// `npm run gateway`: the gateway alone, as it is deployed in each region; subgraph URLs come from the config and environment.
await runUntilSignalled(async () => {
  const file = defaultConfigPath();
  const config = loadConfig(file);
  const gateway = await startGateway({ config, host: process.env.HOST ?? '127.0.0.1', reloadConfig: () => loadConfig(file), watch: true });
  process.on('SIGHUP', () => void gateway.reload());
  console.log(`geofed gateway (region ${config.gateway.region}) serving ${gateway.url}/graphql`);
  return gateway;
});
