import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { ConfigError, defaultConfigPath, loadConfig } from '../gateway/config.js';
import { composeSupergraph } from './compose.js';

// CI guard: the subgraphs must compose, and the committed supergraph must be
// exactly what they compose to (the gateway serves the committed file).
function check(): boolean {
  const config = loadConfig(defaultConfigPath());
  const result = composeSupergraph(config);
  if (!result.ok) {
    console.error(`✗ composition failed:\n${result.errors.map((e) => `  - ${e}`).join('\n')}`);
    return false;
  }
  console.log(`✓ ${config.subgraphs.length} subgraphs compose (${config.subgraphs.map((s) => s.name).join(', ')})`);
  const committedPath = relative(process.cwd(), config.supergraphPath);
  const committed = existsSync(config.supergraphPath) ? readFileSync(config.supergraphPath, 'utf8') : undefined;
  if (committed !== result.supergraphSdl) {
    console.error(`✗ ${committedPath} is ${committed === undefined ? 'missing' : 'stale'}: run \`npm run compose\` and commit it`);
    return false;
  }
  console.log(`✓ ${committedPath} is up to date`);
  return true;
}

try {
  process.exit(check() ? 0 : 1);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
