import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { startChild } from '../harness/child.js';
import type { Target } from '../harness/rounds.js';
import { benchTenantHeader, meQuery, meTenants } from './tenants.js';

export interface StackInfo {
  readonly subgraphs: readonly { readonly name: string; readonly scope: string; readonly urls: Readonly<Record<string, string>> }[];
  /** A token per seeded tenant. */
  readonly tokens: Readonly<Record<string, string>>;
}

export interface MeSetup {
  readonly stack: StackInfo;
  readonly dir: string;
  readonly geofedDir: string;
  readonly upstash?: { readonly url: string; readonly token: string };
}

export const meTargetNames = ['bare Apollo Gateway', 'geofed, no rate limits', 'geofed, memory store', 'geofed, Upstash store'] as const;

const body = JSON.stringify({ query: meQuery });
const tenantOf = (i: number) => meTenants[i % meTenants.length]!;

/**
 * geofed's supergraph.yaml with the stack's bound URLs, one gateway in us fetching every region's
 * subgraphs itself (remote_execution: fetch, as startTestStack serves it), and budgets so large that
 * the load measures the limiter's work, never its refusals.
 */
function geofedConfig(setup: MeSetup, rateLimits: boolean): string {
  const file = join(setup.geofedDir, 'supergraph.yaml');
  const config = parse(readFileSync(file, 'utf8')) as Record<string, any>;
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(setup.geofedDir, path));
  for (const { name, urls } of setup.stack.subgraphs) {
    const entry = config.subgraphs[name];
    entry.schema.file = absolute(entry.schema.file);
    entry.routing_url = urls.us;
    entry.urls = urls;
  }
  config.supergraph = absolute(config.supergraph);
  config.routing = { ...config.routing, remote_execution: 'fetch' };
  const huge = { capacity: 1e12, refill_per_second: 1e9 };
  config.rate_limits = {
    ...config.rate_limits,
    enabled: rateLimits,
    key_prefix: `geofed:bench:${Date.now()}:${randomBytes(4).toString('hex')}`,
    plans: Object.fromEntries(Object.keys(config.rate_limits.plans).map((plan) => [plan, huge])),
    // The mixed workload's anonymous reads all come from this machine's one address.
    anonymous: { ...config.rate_limits.anonymous, ...huge },
  };
  return stringify(config);
}

export function meTargets(setup: MeSetup, names: readonly string[] = meTargetNames): Target[] {
  const specPath = join(setup.dir, 'bare.json');
  writeFileSync(specPath, JSON.stringify({ supergraphPath: join(setup.geofedDir, 'schema/supergraph.graphql'), subgraphs: setup.stack.subgraphs }));
  const bare: Target = {
    name: meTargetNames[0],
    start: () => startChild({ name: meTargetNames[0], args: ['--import', 'tsx', 'bench/peers/bare-regional-main.ts', specPath] }),
    request: (url) => ({ url, body, connectionHeaders: (i) => ({ [benchTenantHeader]: tenantOf(i).tenantId }) }),
  };
  const geofed = (name: string, options: { rateLimits: boolean; upstash: boolean }): Target => ({
    name,
    start: () => {
      const config = join(setup.dir, `geofed-${meTargetNames.indexOf(name as (typeof meTargetNames)[number])}.yaml`);
      writeFileSync(config, geofedConfig(setup, options.rateLimits));
      if (options.upstash && !setup.upstash) throw new Error(`${name} needs the Upstash REST proxy`);
      const store = options.upstash && setup.upstash ? { UPSTASH_REDIS_REST_URL: setup.upstash.url, UPSTASH_REDIS_REST_TOKEN: setup.upstash.token } : {};
      return startChild({
        name,
        args: ['--import', 'tsx', join(setup.geofedDir, 'cli/geofed.ts'), 'gateway', '--config', config],
        env: { ...store, GEOFED_REGION: 'us', PORT: '0' },
        readyLine: (line) => /serving (http\S+)/.exec(line)?.[1],
      });
    },
    request: (url) => ({ url, body, connectionHeaders: (i) => ({ authorization: `Bearer ${setup.stack.tokens[tenantOf(i).tenantId]}` }) }),
  });
  return [
    bare,
    geofed(meTargetNames[1], { rateLimits: false, upstash: false }),
    geofed(meTargetNames[2], { rateLimits: true, upstash: false }),
    geofed(meTargetNames[3], { rateLimits: true, upstash: true }),
  ].filter((target) => names.includes(target.name));
}
