import type { GeofedConfig } from '../../gateway/config.js';
import { startTestStack } from '../../test/fixtures/stack.js';
import type { FuzzTarget } from './fuzz.js';

// The fuzz's target: the whole stack in process (every subgraph of every region on fresh PostgreSQL
// databases, one gateway) in production mode, with budgets large enough that the fuzz measures input
// handling rather than rate limiting.

/** Production mode: no introspection, masked errors, secrets of 32+ characters (test/production.e2e.ts). */
export const fuzzEnv: NodeJS.ProcessEnv = {
  NODE_ENV: 'production',
  GEOFED_JWT_SECRET: 'fuzz-jwt-secret-0123456789abcdef0123456789',
  GEOFED_SUBGRAPH_SECRET: 'fuzz-subgraph-secret-0123456789abcdef01234',
  GEOFED_GATEWAY_HOP_SECRET: 'fuzz-hop-secret-0123456789abcdef0123456789',
};

/**
 * Budgets the fuzz cannot spend, and a subgraph timeout of 5 s rather than 2: a first fetch on cold
 * connections of a 2-core machine busy with 16 requests in flight measures the machine, not input
 * handling. A fetch that never answers still fails the run (503 after 5 s, within the 10 s deadline).
 */
const roomyBudgets = (config: GeofedConfig): GeofedConfig => ({
  ...config,
  gateway: { ...config.gateway, subgraphTimeoutMs: Math.max(config.gateway.subgraphTimeoutMs, 5_000) },
  rateLimits: {
    ...config.rateLimits,
    plans: Object.fromEntries(Object.keys(config.rateLimits.plans).map((plan) => [plan, { capacity: 1e12, refillPerSecond: 1e9, regions: {} }])),
    anonymous: { ...config.rateLimits.anonymous, capacity: 1e12, refillPerSecond: 1e9 },
  },
});

export interface FuzzStack {
  readonly target: FuzzTarget;
  stop(): Promise<void>;
}

export async function startFuzzStack(): Promise<FuzzStack> {
  const stack = await startTestStack('postgres', { env: fuzzEnv, configure: roomyBudgets });
  return { target: { url: stack.stack.gateway.url, jwtSecret: fuzzEnv.GEOFED_JWT_SECRET! }, stop: () => stack.stop() };
}
