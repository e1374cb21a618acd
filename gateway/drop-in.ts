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
 * supergraph.yaml (`--config`); otherwise their defaults apply, but for the
 * modes of cost and rate limits (measuredUntilSized).
 */
export function dropInConfig(supergraphFile: string, settingsFile?: string, env: NodeJS.ProcessEnv = process.env): GeofedConfig {
  const supergraphPath = resolve(supergraphFile);
  const graphs = routingUrls(supergraphPath);
  const settings = settingsFile ? (parseYaml(readFileSync(resolve(settingsFile), 'utf8')) as Record<string, unknown>) : {};
  const keep = ['limits', 'cost', 'rate_limits', 'persisted_queries', 'cache_control', 'cors', 'auth', 'headers', 'subgraph_limits', 'circuit_breaker', 'memory'];
  const gateway = (settings.gateway ?? {}) as Record<string, unknown>;
  const kept = Object.fromEntries(Object.entries(settings).filter(([key]) => keep.includes(key)));
  return configFromObject(
    {
      ...kept,
      ...measuredUntilSized(kept),
      supergraph: supergraphPath,
      gateway: { ...gateway, region: defaultRegion },
      subgraphs: Object.fromEntries(graphs.map(({ name, url }) => [name, { routing_url: url, schema: { file: supergraphPath } }])),
    },
    settingsFile ? resolve(settingsFile) : supergraphPath,
    { ...env, GEOFED_REGION: defaultRegion },
  );
}

/**
 * The gateway a drop-in replaces refused nothing for cost or budgets, and
 * defaults sized for geofed's own graph say nothing of this one: cost and rate
 * limits only measure (reported, never refused) until the operator sizes them,
 * cost with `cost.max_operation_cost`, rate limits with `rate_limits.plans` or
 * `rate_limits.anonymous`. A `mode` the settings give always wins.
 */
function measuredUntilSized(settings: Record<string, unknown>): Record<string, unknown> {
  const withMode = (section: unknown, sizedBy: readonly string[]) => {
    // A section that is not a mapping is left as it is, for the schema to name.
    if (section !== undefined && (typeof section !== 'object' || section === null || Array.isArray(section))) return section;
    const keys = (section ?? {}) as Record<string, unknown>;
    return { mode: sizedBy.some((key) => key in keys) ? 'enforce' : 'measure', ...keys };
  };
  return { cost: withMode(settings.cost, ['max_operation_cost']), rate_limits: withMode(settings.rate_limits, ['plans', 'anonymous']) };
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
