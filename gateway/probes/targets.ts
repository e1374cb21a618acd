import type { GeofedConfig } from '../config.js';
import { ConfigError } from '../config-error.js';
import type { GatewayEnv } from '../env.js';
import { jwtSecret, signToken } from '../tokens.js';
import type { ProbeRoundOptions, ProbeTarget } from './prober.js';

/** Each region's gateway of the config (`gateways.<region>.url`), in the order of `regions`; `only` narrows them. */
export function probeTargets(config: GeofedConfig, only: readonly string[] = []): ProbeTarget[] {
  for (const region of only) {
    if (!config.regions.includes(region)) throw new ConfigError(`"${region}" is not one of regions [${config.regions.join(', ')}] of ${config.file}`);
    if (!config.gateways[region]) throw new ConfigError(`${config.file}: region "${region}" has no gateway to probe (gateways.${region}.url)`);
  }
  const targets = config.regions.filter((r) => config.gateways[r] && (only.length === 0 || only.includes(r))).map((region) => ({ region, url: config.gateways[region]!.url.replace(/\/$/, '') }));
  if (targets.length === 0) throw new ConfigError(`${config.file}: no gateway to probe: name each region's in gateways.<region>.url`);
  return targets;
}

/** How long a probe token lives: a round's requests are sent well within it, and a leaked one soon expires. */
const probeTokenLifetime = '10m';

/** Probe tenants' tokens, signed as `geofed token` signs them (HS256 with GEOFED_JWT_SECRET). */
export function probeTokens(env: GatewayEnv): ProbeRoundOptions['tokenFor'] {
  return async ({ tenant, user }) => signToken({ tenantId: tenant, userId: user, roles: [] }, jwtSecret(env), probeTokenLifetime);
}
