import type { Registry } from 'prom-client';
import type { GeofedConfig } from '../config.js';
import type { GatewayEnv } from '../env.js';
import { ProbeLoop } from './probe-loop.js';
import { ProbeMetrics } from './probe-metrics.js';
import { probeTargets, probeTokens } from './targets.js';

/**
 * A gateway's own probes of every region's gateway (`probes.watch`), for its /status and, in its registry, its
 * /metrics. The config is read before each round, so a reload that turns them on or off applies from the next one.
 */
export function gatewayProbes({ config, env, registry }: { readonly config: () => GeofedConfig; readonly env: GatewayEnv; readonly registry: Registry }): ProbeLoop {
  const tokenFor = probeTokens(env);
  return new ProbeLoop({
    round: () => {
      const current = config();
      if (!current.probes.watch || Object.keys(current.gateways).length === 0) return undefined;
      return { settings: current.probes, targets: probeTargets(current), tokenFor };
    },
    intervalMs: () => config().probes.watchIntervalMs,
    metrics: new ProbeMetrics(registry),
  });
}
