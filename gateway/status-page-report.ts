import type { Registry } from 'prom-client';
import type { GeofedConfig } from './config.js';
import type { SupergraphStatus } from './config-reload.js';
import type { BreakerStates } from './pipeline.js';
import type { ProbeReport } from './probes/prober.js';
import type { RolloutStatusEntry } from './rollout-status.js';
import type { HealthReport } from './subgraph-health.js';

// What `/status` answers (docs/operations.md, "Status page"): this gateway's readiness and supergraph, every subgraph
// instance it may call with its health and breaker, each region's gateway and the supergraph version it serves, the
// live rollouts, the last probe round and the rate-limit buckets of the busiest tenants. The HTML page renders it.

/** `starting`: no supergraph loaded yet; `ready`: serving; `draining`: shutting down, finishing what is in flight. */
export type GatewayPhase = 'starting' | 'ready' | 'draining';

export interface StatusSources {
  readonly region: string;
  readonly phase: () => GatewayPhase;
  /** Undefined until the first supergraph is loaded. */
  readonly supergraph: () => SupergraphStatus | undefined;
  /** Probes every subgraph instance now (subgraph-health.ts) and reads the breakers. */
  readonly subgraphs: () => Promise<{ readonly health: readonly HealthReport[]; readonly breakers: BreakerStates }>;
  /** Each region's gateway, in the order of `regions`, from the config being served. */
  readonly gateways: () => readonly RegionGateway[];
  /** The rollouts in force (rollout-status.ts); their window counts when the rollout store answers. */
  readonly rollouts: () => Promise<readonly RolloutStatusEntry[]>;
  /** The last round of this gateway's own probes (`probes.watch`); undefined when off or before the first. */
  readonly probes: () => ProbeReport | undefined;
  /** The gateway's metrics: the rate limiter's top of spent buckets is read from them. */
  readonly registry: Registry;
}

export interface RegionGateway {
  readonly region: string;
  /** undefined: the region has no gateway in the config. */
  readonly url: string | undefined;
  /** Where its /readyz is served (`gateways.<region>.admin_url`, else its url). */
  readonly readinessUrl: string | undefined;
}

export interface RegionStatus {
  readonly region: string;
  readonly gateway: string | null;
  /** This gateway's phase for its own region; another region's as its /readyz said, `unreachable` when it did not answer. */
  readonly status: GatewayPhase | 'unreachable' | 'no_gateway';
  readonly supergraph: Pick<SupergraphStatus, 'version' | 'configVersion' | 'loadedAt'> | null;
  /** Why another region's gateway gave no status (`timed out after 1000 ms`, `HTTP 404`). */
  readonly error?: string;
}

export interface BusiestTenant {
  readonly tenant: string;
  readonly region: string;
  /** Tokens left / capacity of the tenant's bucket in that region (1: full, 0: empty). */
  readonly fill: number;
}

/** Another region's /readyz slower than this is shown `unreachable`: the page must never hang on a region far away or down. */
const readinessTimeoutMs = 1_000;

/** The rate limiter's gauge of the most spent tenants' buckets (plugins/rate-limit); absent, so is the page's block. */
const spentBucketsMetric = 'geofed_rate_limit_bucket_spent_ratio';

/** Everything at once: subgraph probes, other regions' readiness and the rollout store are asked in parallel. */
export async function statusReport(sources: StatusSources) {
  const phase = sources.phase();
  const [{ health, breakers }, regions, rollouts, busiestTenants] = await Promise.all([sources.subgraphs(), regionStatuses(sources, phase), sources.rollouts().catch(() => null), busiestTenantsOf(sources.registry)]);
  const subgraphs: Record<string, Record<string, Record<string, unknown>>> = {};
  // Whatever a health report carries beyond where it was probed (replica lag, say) is shown as it is.
  for (const { subgraph, region, url: _url, ...report } of health) (subgraphs[subgraph] ??= {})[region] = { ...report, breaker: breakers[subgraph]?.[region] ?? 'closed' };
  return {
    status: phase,
    region: sources.region,
    supergraph: sources.supergraph() ?? null,
    ready: phase === 'ready',
    subgraphs,
    regions,
    /** null: the rollout store did not answer. */
    rollouts,
    probes: sources.probes() ?? null,
    ...(busiestTenants ? { busiestTenants } : {}),
  };
}

export type StatusReport = Awaited<ReturnType<typeof statusReport>>;

async function regionStatuses(sources: StatusSources, phase: GatewayPhase): Promise<RegionStatus[]> {
  return Promise.all(
    sources.gateways().map(async ({ region, url, readinessUrl }): Promise<RegionStatus> => {
      if (region === sources.region) {
        const supergraph = sources.supergraph();
        return { region, gateway: url ?? null, status: phase, supergraph: supergraph ? { version: supergraph.version, configVersion: supergraph.configVersion, loadedAt: supergraph.loadedAt } : null };
      }
      if (url === undefined || readinessUrl === undefined) return { region, gateway: null, status: 'no_gateway', supergraph: null };
      return { region, gateway: url, ...(await readinessOf(readinessUrl)) };
    }),
  );
}

async function readinessOf(base: string): Promise<Pick<RegionStatus, 'status' | 'supergraph' | 'error'>> {
  try {
    const response = await fetch(`${base.replace(/\/$/, '')}/readyz`, { signal: AbortSignal.timeout(readinessTimeoutMs) });
    // 503 is a readiness answer too (starting, draining); any other status is not one.
    if (response.status !== 200 && response.status !== 503) return { status: 'unreachable', supergraph: null, error: `HTTP ${response.status}` };
    const body = (await response.json()) as { status?: unknown; supergraph?: { version?: unknown; configVersion?: unknown; loadedAt?: unknown } | null };
    const status = body.status === 'starting' || body.status === 'ready' || body.status === 'draining' ? body.status : 'unreachable';
    const s = body.supergraph;
    const supergraph = s && typeof s.version === 'string' && typeof s.configVersion === 'string' && typeof s.loadedAt === 'string' ? { version: s.version, configVersion: s.configVersion, loadedAt: s.loadedAt } : null;
    return { status, supergraph };
  } catch (error) {
    return { status: 'unreachable', supergraph: null, error: (error as Error).name === 'TimeoutError' ? `timed out after ${readinessTimeoutMs} ms` : 'no connection' };
  }
}

/** The busiest tenants' buckets, most spent first; undefined when the rate limiter keeps no such gauge. */
async function busiestTenantsOf(registry: Registry): Promise<BusiestTenant[] | undefined> {
  const metric = registry.getSingleMetric(spentBucketsMetric);
  if (!metric) return undefined;
  const { values } = await metric.get();
  return values
    .flatMap(({ labels, value }) => (typeof labels.tenant === 'string' && typeof labels.region === 'string' ? [{ tenant: labels.tenant, region: labels.region, fill: 1 - value }] : []))
    .sort((a, b) => a.fill - b.fill);
}

/** Each region of the config and its gateway, where its readiness is asked. */
export function regionGateways(config: Pick<GeofedConfig, 'regions' | 'gateways'>): RegionGateway[] {
  return config.regions.map((region) => {
    const gateway = config.gateways[region];
    return { region, url: gateway?.url, readinessUrl: gateway?.adminUrl ?? gateway?.url };
  });
}
