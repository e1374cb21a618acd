import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ScopeOf } from '../plugins/field-ownership.js';
import { parseSettings } from '../runtime/settings.js';
import { ConfigError } from './config-error.js';
import { configSchema, type GeofedConfig, type SubgraphConfig } from './config-schema.js';
import { gatewayEnv } from './env.js';

export { ConfigError } from './config-error.js';
export { defaultRegion, type GeofedConfig, type SubgraphConfig } from './config-schema.js';

/**
 * Reads and validates supergraph.yaml once. Every problem names the file, the
 * key and what was expected, so a bad deploy stops at start-up, not at the
 * first request. `env` supplies the overrides of the environment (GEOFED_REGION,
 * PORT, GEOFED_SUBGRAPH_URL_*).
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): GeofedConfig {
  const path = resolve(file);
  return configFromObject(readConfigFile(path), path, env);
}

/**
 * A YAML config file as it is written, before any validation; a file that is
 * missing, a folder or not YAML is a ConfigError that says which and what to do.
 */
export function readConfigFile(file: string): unknown {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    if (code === 'ENOENT') throw new ConfigError(`${path}: cannot be read as YAML: there is no such file. Pass --config FILE or set GEOFED_CONFIG (default: supergraph.yaml in the working folder).`);
    if (code === 'EISDIR') throw new ConfigError(`${path}: cannot be read as YAML: it is a folder. Pass --config FILE or set GEOFED_CONFIG to the supergraph.yaml inside it.`);
    throw new ConfigError(`${path}: cannot be read as YAML: ${(error as Error).message}`);
  }
  try {
    return parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${path}: cannot be read as YAML: ${(error as Error).message.trimEnd()}`);
  }
}

/** Validates a config already read (drop-in mode builds one); `path` names it in errors and anchors relative paths. */
export function configFromObject(raw: unknown, path: string, env: NodeJS.ProcessEnv = process.env): GeofedConfig {
  return parseSettings(configSchema(path, gatewayEnv(env)), raw, path, ConfigError);
}

export function findSubgraph(config: GeofedConfig, name: string): SubgraphConfig {
  const subgraph = config.subgraphs.find((s) => s.name === name);
  if (!subgraph) {
    throw new ConfigError(`${config.file}: no subgraph "${name}" (have ${config.subgraphs.map((s) => s.name).join(', ')})`);
  }
  return subgraph;
}

export function scopeLookup(config: GeofedConfig): ScopeOf {
  const scopes = new Map(config.subgraphs.map((s) => [s.name, s.scope]));
  return (subgraph) => scopes.get(subgraph);
}
