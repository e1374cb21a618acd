import { writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { composeSupergraph } from '../gateway/compose.js';
import { loadConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { parseCommandArgs, type Command } from '../runtime/command.js';
import { StartupError } from '../runtime/process.js';

const usage = `usage: geofed compose [--config FILE] [--output FILE]
  --config FILE   supergraph.yaml, Rover's format or geofed's (default: GEOFED_CONFIG, else supergraph.yaml)
  --output FILE   where to write the supergraph (default: the config's \`supergraph\` path, else stdout; - for stdout)`;

/** `geofed compose` (`npm run compose`): composes the config's subgraphs, as `rover supergraph compose` does. */
export const composeCommand: Command = {
  usage,
  async run(args) {
    const { values } = parseCommandArgs(args, { config: { type: 'string' }, output: { type: 'string' } });
    const config = loadConfig(values.config ?? gatewayEnv().configPath);
    const result = await composeSupergraph(config);
    if (!result.ok) throw new StartupError(`composition failed:\n${result.errors.map((e) => `  - ${e}`).join('\n')}`);
    const output = values.output ?? config.supergraphPath ?? '-';
    if (output === '-') {
      process.stdout.write(result.supergraphSdl);
      return;
    }
    writeFileSync(resolve(output), result.supergraphSdl);
    console.log(`wrote ${relative(process.cwd(), resolve(output))} (${config.subgraphs.map((s) => s.name).join(', ')})`);
  },
};
