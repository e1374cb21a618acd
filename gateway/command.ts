import type { Command } from '../runtime/command.js';
import { parseCommandArgs } from '../runtime/command.js';
import { setLogLevels } from '../runtime/logger.js';
import { runUntilSignalled } from '../runtime/process.js';
import { assertSchemaFilesReadable } from './compose.js';
import { loadConfig, readConfigFile } from './config.js';
import { dropInConfig, readComposedSupergraph } from './drop-in.js';
import { gatewayEnv } from './env.js';
import { startGateway } from './gateway.js';

const usage = `usage: geofed gateway [--config FILE]
       geofed gateway --supergraph FILE [--config FILE]
  --config FILE       geofed's supergraph.yaml (default: GEOFED_CONFIG, else supergraph.yaml)
  --supergraph FILE   drop-in mode: serve this composed supergraph at its routing URLs
                      (--config then only supplies limits, cost, rate limits, caching, CORS, auth,
                      forwarded headers, subgraph limits, the breaker and memory bounds)`;

/**
 * `geofed gateway` (`npm run gateway`): the gateway alone, as it is deployed in
 * each region; subgraph URLs come from the config and the environment.
 */
export const gatewayCommand: Command = {
  usage,
  async run(args) {
    const { values } = parseCommandArgs(args, { supergraph: { type: 'string' }, config: { type: 'string' } });
    const env = gatewayEnv();
    setLogLevels({ log: env.logLevel, audit: env.auditLogLevel });
    await runUntilSignalled(async () => {
      const dropIn = values.supergraph;
      // dropInConfig reads --config as it is: a file that is missing or not YAML is named here, as loadConfig names it.
      if (dropIn && values.config !== undefined) readConfigFile(values.config);
      const load = dropIn ? () => dropInConfig(dropIn, values.config) : () => loadConfig(values.config ?? env.configPath);
      const config = load();
      if (!dropIn) assertSchemaFilesReadable(config);
      const gateway = await startGateway({ config, env, reloadConfig: load, watch: true, ...(dropIn ? { compose: readComposedSupergraph } : {}) });
      process.on('SIGHUP', () => void gateway.reload());
      console.log(`geofed gateway (region ${config.gateway.region}) serving ${gateway.url}/graphql`);
      return gateway;
    });
  },
};
