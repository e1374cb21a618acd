import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { ConfigError, defaultConfigPath, loadConfig } from '../gateway/config.js';
import { composeSupergraph } from './compose.js';

// Rewrites schema/supergraph.graphql from the subgraph SDL files of supergraph.yaml.
try {
  const config = loadConfig(defaultConfigPath());
  const result = composeSupergraph(config);
  if (!result.ok) {
    console.error(`composition failed:\n${result.errors.map((e) => `  - ${e}`).join('\n')}`);
    process.exit(1);
  }
  writeFileSync(config.supergraphPath, result.supergraphSdl);
  console.log(`wrote ${relative(process.cwd(), config.supergraphPath)} (${config.subgraphs.map((s) => s.name).join(', ')})`);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
