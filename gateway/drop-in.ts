import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Kind, parse, type ConstDirectiveNode } from 'graphql';
import { parse as parseYaml } from 'yaml';
import type { CompositionResult } from './compose.js';
import { ConfigError, configFromObject, defaultRegion, type GeofedConfig } from './config.js';

/**
 * Drop-in mode: serve any composed supergraph where an @apollo/gateway stands
 * today. Its subgraphs and routing URLs come from the supergraph's
 * `join__Graph` enum, all global, in one region. The operation limits, cost,
 * rate-limit, persisted-query and cache settings may come from a
 * supergraph.yaml (`--config`); otherwise their defaults apply.
 */
export function dropInConfig(supergraphFile: string, settingsFile?: string, env: NodeJS.ProcessEnv = process.env): GeofedConfig {
  const supergraphPath = resolve(supergraphFile);
  const graphs = routingUrls(supergraphPath);
  const settings = settingsFile ? (parseYaml(readFileSync(resolve(settingsFile), 'utf8')) as Record<string, unknown>) : {};
  const keep = ['limits', 'cost', 'rate_limits', 'persisted_queries', 'cache_control', 'cors', 'auth', 'headers'];
  const gateway = (settings.gateway ?? {}) as Record<string, unknown>;
  return configFromObject(
    {
      ...Object.fromEntries(Object.entries(settings).filter(([key]) => keep.includes(key))),
      supergraph: supergraphPath,
      gateway: { ...gateway, region: defaultRegion },
      subgraphs: Object.fromEntries(graphs.map(({ name, url }) => [name, { routing_url: url, schema: { file: supergraphPath } }])),
    },
    settingsFile ? resolve(settingsFile) : supergraphPath,
    { ...env, GEOFED_REGION: defaultRegion },
  );
}

/** Reload in drop-in mode: read the composed file again (there are no subgraph SDL files to compose). */
export async function readComposedSupergraph(config: GeofedConfig): Promise<CompositionResult> {
  let sdl;
  try {
    sdl = readFileSync(config.supergraphPath!, 'utf8');
  } catch (error) {
    return { ok: false, stage: 'sources', errors: [`cannot read the supergraph ${config.supergraphPath}: ${(error as Error).message}`] };
  }
  try {
    routingUrls(config.supergraphPath!);
    return { ok: true, supergraphSdl: sdl };
  } catch (error) {
    return { ok: false, stage: 'composition', errors: [(error as Error).message] };
  }
}

function routingUrls(supergraphPath: string): { name: string; url: string }[] {
  let document;
  try {
    document = parse(readFileSync(supergraphPath, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${supergraphPath}: cannot be read as a supergraph: ${(error as Error).message}`);
  }
  const graphEnum = document.definitions.find((d) => d.kind === Kind.ENUM_TYPE_DEFINITION && d.name.value === 'join__Graph');
  if (!graphEnum || graphEnum.kind !== Kind.ENUM_TYPE_DEFINITION) throw new ConfigError(`${supergraphPath}: not a Federation supergraph (no join__Graph enum)`);
  return (graphEnum.values ?? []).map((value) => {
    const directive = value.directives?.find((d) => d.name.value === 'join__graph');
    const name = stringArgument(directive, 'name');
    const url = stringArgument(directive, 'url');
    if (!name || !url) throw new ConfigError(`${supergraphPath}: join__Graph.${value.name.value} has no name or routing URL`);
    return { name, url };
  });
}

function stringArgument(directive: ConstDirectiveNode | undefined, name: string): string | undefined {
  const value = directive?.arguments?.find((a) => a.name.value === name)?.value;
  return value?.kind === Kind.STRING ? value.value : undefined;
}
