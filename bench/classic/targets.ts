import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startChild, type RunningChild } from '../harness/child.js';
import type { Target } from '../harness/rounds.js';
import { deepQueryBody } from './query.js';

// The gateways of the classic workload, each a process of its own over the same subgraphs.

/** Names of the targets, in the order each round measures them; the first is the baseline. */
export const classicTargetNames = [
  'bare Apollo Gateway',
  'Hive Gateway',
  'Hive Gateway, inbound dedup',
  'geofed, plugins on (memory)',
  'geofed, plugins on (Upstash)',
  'geofed, plugins off',
  'geofed, plugins on, dedup',
] as const;
export type ClassicTargetName = (typeof classicTargetNames)[number];

export interface ClassicSetup {
  readonly supergraphPath: string;
  /** A folder for the config files of geofed's variants. */
  readonly dir: string;
  /** geofed's checkout: `cli/geofed.ts` of this folder is started. @default the working directory */
  readonly geofedDir: string;
  /** The Upstash REST proxy in front of the local Redis, for the Upstash variant. */
  readonly upstash?: { readonly url: string; readonly token: string };
  /** Extra `node` flags of every gateway process (`--cpu-prof`, say). */
  readonly nodeFlags?: readonly string[];
}

// Production mode everywhere (graphql-js skips its development checks); geofed then needs real secrets.
const secrets = () => ({
  NODE_ENV: 'production',
  GEOFED_JWT_SECRET: randomBytes(32).toString('hex'),
  GEOFED_SUBGRAPH_SECRET: randomBytes(32).toString('hex'),
  GEOFED_GATEWAY_HOP_SECRET: randomBytes(32).toString('hex'),
});

/**
 * geofed's settings for the drop-in run. Limits and cost cannot be switched off, only raised: the
 * deep query is 8 levels deep (limits.max_depth 6 by default) and lists without sizes price high.
 * Both limits enforce (drop-in mode would only measure them until they are sized).
 * `client_key: x-forwarded-for` with an address per connection makes the 20 connections 20
 * anonymous callers, so that geofed's dedup (one caller's identical queries and fetches in flight, on
 * by default) never joins two of them: dedup off. With `address`
 * they are one caller and it is on.
 */
function geofedConfig({ rateLimits, oneClient }: { rateLimits: boolean; oneClient: boolean }): string {
  return [
    'limits: { max_depth: 10 }',
    'cost: { max_operation_cost: 1000000000, mode: enforce }',
    'rate_limits:',
    `  enabled: ${rateLimits}`,
    '  mode: enforce',
    `  key_prefix: "geofed:bench:${Date.now()}:${randomBytes(4).toString('hex')}"`,
    `  anonymous: { capacity: 1000000000000, refill_per_second: 1000000000, client_key: ${oneClient ? 'address' : 'x-forwarded-for'} }`,
    '',
  ].join('\n');
}

const clientOf = (i: number) => ({ 'x-forwarded-for': `198.51.100.${(i % 250) + 1}` });

export interface GeofedOptions {
  readonly rateLimits: boolean;
  /** The connections are one anonymous client (dedup applies), not one client each. */
  readonly oneClient: boolean;
  readonly upstash?: boolean;
  /** One gateway process per worker of node's cluster module (bench/peers/geofed-cluster-main.ts). */
  readonly workers?: number;
}

let configs = 0;

/** The node flags geofed's own launchers start a gateway with (`npx geofed`, `npm run gateway`; docs/operations.md). */
const geofedNodeFlags = ['--max-semi-space-size=32'];

/** geofed in drop-in mode over the classic supergraph, in a process of its own (or a cluster of them). */
export function geofedTarget(setup: ClassicSetup, name: string, options: GeofedOptions): Target {
  return {
    name,
    start: (): Promise<RunningChild> => {
      const config = join(setup.dir, `geofed-${(configs += 1)}.yaml`);
      writeFileSync(config, geofedConfig(options));
      if (options.upstash && !setup.upstash) throw new Error(`${name} needs the Upstash REST proxy`);
      const store = options.upstash && setup.upstash ? { UPSTASH_REDIS_REST_URL: setup.upstash.url, UPSTASH_REDIS_REST_TOKEN: setup.upstash.token } : {};
      const gateway = [join(setup.geofedDir, 'cli/geofed.ts'), 'gateway', '--supergraph', setup.supergraphPath, '--config', config];
      const cluster = options.workers === undefined ? [] : [resolve('bench/peers/geofed-cluster-main.ts'), String(options.workers)];
      return startChild({
        name,
        args: [...(setup.nodeFlags ?? []), ...geofedNodeFlags, '--import', 'tsx', ...cluster, ...gateway],
        env: { ...secrets(), ...store, PORT: '0' },
        ...(options.workers === undefined ? { readyLine: (line: string) => /serving (http\S+)/.exec(line)?.[1] } : {}),
      });
    },
    request: (url) => ({ url, body: deepQueryBody, ...(options.oneClient ? {} : { connectionHeaders: clientOf }) }),
  };
}

export function classicTargets(setup: ClassicSetup, names: readonly ClassicTargetName[] = classicTargetNames): Target[] {
  const plain = (url: string) => ({ url, body: deepQueryBody });
  // Hive's logger refuses LOG_LEVEL=silent; `logging: false` (hive-main.ts) silences it whatever the level.
  const peer = (name: ClassicTargetName, main: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Target => ({
    name,
    start: () => startChild({ name, args: [...(setup.nodeFlags ?? []), '--import', 'tsx', resolve(main), setup.supergraphPath, ...args], env: { NODE_ENV: 'production', ...env } }),
    request: plain,
  });
  const geofed = (name: ClassicTargetName, options: GeofedOptions): Target => geofedTarget(setup, name, options);
  const all: Record<ClassicTargetName, () => Target> = {
    'bare Apollo Gateway': () => peer('bare Apollo Gateway', 'bench/peers/bare-apollo-main.ts'),
    'Hive Gateway': () => peer('Hive Gateway', 'bench/peers/hive-main.ts', [], { LOG_LEVEL: 'error' }),
    'Hive Gateway, inbound dedup': () => peer('Hive Gateway, inbound dedup', 'bench/peers/hive-main.ts', ['--dedup'], { LOG_LEVEL: 'error' }),
    'geofed, plugins on (memory)': () => geofed('geofed, plugins on (memory)', { rateLimits: true, oneClient: false }),
    'geofed, plugins on (Upstash)': () => geofed('geofed, plugins on (Upstash)', { rateLimits: true, oneClient: false, upstash: true }),
    'geofed, plugins off': () => geofed('geofed, plugins off', { rateLimits: false, oneClient: false }),
    'geofed, plugins on, dedup': () => geofed('geofed, plugins on, dedup', { rateLimits: true, oneClient: true }),
  };
  return names.map((name) => all[name]());
}
