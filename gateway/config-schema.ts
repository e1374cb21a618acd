import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { costSettings } from '../plugins/cost/settings.js';
import { cacheControlSettings } from '../plugins/cdn-cache.js';
import { subgraphScopes } from '../plugins/field-ownership.js';
import { operationLimitSettings } from '../plugins/operation-limits.js';
import { persistedQuerySettings } from '../plugins/persisted-queries/settings.js';
import { rateLimitSettings } from '../plugins/rate-limit/settings.js';
import { defaultDrainMs } from '../runtime/http-server.js';
import { nonNegativeInteger, positiveInteger, regionName, settingsSection } from '../runtime/settings.js';
import { subgraphUrlVariable, type GatewayEnv } from './env.js';
import { forwardedHeaderName } from './forwarded-headers.js';
import { memorySettings } from './memory-settings.js';
import { probeSection } from './probes/settings.js';
import { checkRolloutRegions, rolloutSection } from './rollout-settings.js';
import { defaultVersion, resolveVersions, schemaSource, versionEntry, versionLabel } from './versions.js';

// supergraph.yaml reads as a Rover supergraph.yaml for everything Rover knows (federation_version,
// subgraphs.<name>.routing_url, subgraphs.<name>.schema.file or .subgraph_url); geofed's own keys sit
// beside them. README, "Configuration", documents every key and the mapping.

const httpUrl = z.url({ protocol: /^https?$/, error: 'an http(s) URL' });
const origin = z.union([z.literal('*'), z.url({ protocol: /^https?$/, error: 'an origin such as https://app.example.com' })]);

/** The one region of a file that declares none (a Rover file): every subgraph is served at its routing URL. */
export const defaultRegion = 'default';

const subgraphEntry = z.strictObject({
  /** Rover: where the gateway sends the subgraph's fetches (the URL written into the supergraph). */
  routing_url: httpUrl.optional(),
  /** Rover: the SDL from a file, or by introspecting the running subgraph (`_service { sdl }`). */
  schema: z.union([z.strictObject({ file: z.string().min(1) }), z.strictObject({ subgraph_url: httpUrl })]),
  /** geofed: `regional` subgraphs hold personal data and are served only in the tenant's home region. */
  scope: z.enum(subgraphScopes).default('global'),
  /** geofed: the URL of the subgraph's instance in each region; a global subgraph falls back to routing_url. */
  urls: z.record(regionName, httpUrl).default({}),
  /** geofed: the label of this entry's version (docs/rollouts.md). */
  version: versionLabel.default(defaultVersion),
  /** geofed: other versions of the subgraph, each with its SDL and its instance in the regions that deploy it. */
  versions: z.record(versionLabel, versionEntry).default({}),
});

const gatewayEntry = settingsSection({
  /** Where the other regions' gateways reach this region's gateway (the forwarding hop). */
  url: httpUrl,
  /** The endpoint clients of this region's tenants may call directly (the `x-geofed-home-endpoint` header). */
  public_url: httpUrl.optional(),
  /** Where this region's operator endpoints are reached when its `gateway.admin_port` is set: the status page asks its /readyz there. */
  admin_url: httpUrl.optional(),
});

const routingSection = settingsSection({
  /**
   * What a gateway does with an authenticated operation of a tenant homed in another region:
   * `forward` it whole to the home region's gateway (PII is processed only at home), or `fetch`
   * the home region's subgraphs itself (a documented residency downgrade: PII is assembled here).
   */
  remote_execution: z.enum(['forward', 'fetch']).default('forward'),
  /** How far a forwarded request's timestamp may be from the home gateway's clock; its nonce is remembered this long. */
  hop_window_seconds: positiveInteger.default(60),
  /** A forwarded operation must be answered within this (the home region plans and fetches meanwhile). */
  forward_timeout_ms: positiveInteger.default(10_000),
  /** Round trips between regions ("us-eu": 80), which order global failover by distance. */
  round_trip_ms: z.record(z.string().regex(/^[a-z][a-z0-9_]*-[a-z][a-z0-9_]*$/, 'a pair of regions such as "us-eu"'), nonNegativeInteger).default({}),
  /** Where global reads go, by the gateway's region, when its own instance cannot be reached. @default the other regions by round trip */
  global_failover: z.record(regionName, z.array(regionName)).default({}),
}).prefault({});

const gatewaySection = settingsSection({
  /** The gateway's own region: global reads go to the subgraph instances there. @default the first of `regions` */
  region: regionName.optional(),
  /** @default the port of `gateways.<region>.url`, else 4000 */
  port: z.number().int().min(0).max(65_535).optional(),
  /** When set, /health, /readyz, /status and /metrics are served on this port only, off the public one. */
  admin_port: z.number().int().min(0).max(65_535).optional(),
  /** On SIGINT/SIGTERM (and for the pipeline a reload replaces), requests in flight get this long to finish. */
  drain_timeout_ms: positiveInteger.default(defaultDrainMs),
  /** How often every subgraph instance is probed for /metrics (`geofed_subgraph_up`); /status probes when asked. */
  health_check_interval_ms: positiveInteger.default(15_000),
  /** Bound of one subgraph fetch (connect, headers and body); a regional fetch past it is REGION_UNAVAILABLE. */
  subgraph_timeout_ms: positiveInteger.default(2_000),
  /** How long a tenant's directory entry is reused. */
  tenant_cache_ttl_ms: nonNegativeInteger.default(30_000),
  /** How long the directory's "no such tenant" is reused (a lookup that failed is never cached). */
  tenant_not_found_ttl_ms: nonNegativeInteger.default(2_000),
  /** The subgraph that answers the tenants-directory lookup; without one, every verified tenant is served in the one region. */
  tenants_directory: z.string().min(1).optional(),
  /** Largest request body accepted (413 above it). */
  max_body_bytes: positiveInteger.default(1_048_576),
  /** Schema introspection. @default on, except with NODE_ENV=production */
  introspection: z.boolean().optional(),
  /** GraphiQL at GET /graphql for a browser, served offline by the gateway itself (docs/landing-page.md). @default on, except with NODE_ENV=production */
  landing_page: z.boolean().optional(),
  /** Name the internal subgraph (`extensions.serviceName`) on errors it raised; off, a prober learns nothing of the topology. */
  error_service_names: z.boolean().default(false),
}).prefault({});

const fileSchema = z.strictObject({
  federation_version: z.union([z.string().regex(/^=?2(\.\d+){0,2}$/, 'a Federation 2 version such as "=2.9.0"'), z.literal(2)]).optional(),
  subgraphs: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'a subgraph name of letters, digits, "_" and "-"'), subgraphEntry),
  regions: z.array(regionName).min(1).default([defaultRegion]),
  /** The gateway of each region: a gateway forwards a tenant's operations to its home region's. */
  gateways: z.record(regionName, gatewayEntry).default({}),
  routing: routingSection,
  /** The composed supergraph the gateway serves and `geofed compose` writes; without one, the gateway composes at start. */
  supergraph: z.string().min(1).optional(),
  gateway: gatewaySection,
  circuit_breaker: settingsSection({
    /** Consecutive failed fetches to one subgraph in one region that open its breaker. */
    failure_threshold: positiveInteger.default(3),
    /** How long an open breaker fails fast before it lets one trial request through. */
    open_ms: positiveInteger.default(5_000),
  }).prefault({}),
  /** Flood protection of subgraph fetches, per subgraph and region (docs/flood-protection.md). */
  subgraph_limits: settingsSection({
    /** Fetches in flight at once to one subgraph in one region; the rest wait in its queue. */
    max_in_flight: positiveInteger.default(64),
    /** Fetches waiting for a slot, across callers; 0 sheds every fetch that cannot start at once. */
    max_queue: nonNegativeInteger.default(256),
    /** A fetch that gets no slot within this is shed (SUBGRAPH_OVERLOADED, 503, Retry-After); it never counts against subgraph_timeout_ms. */
    queue_timeout_ms: positiveInteger.default(100),
    /** The fraction of max_in_flight one tenant (or anonymous client address) may hold; at least one slot. */
    max_share: z.number().gt(0).max(1).default(0.5),
    /** One caller's identical queries in flight at once share one execution, and identical fetches (same subgraph, region, caller and body) one fetch; never a mutation's. */
    dedup: z.boolean().default(true),
  }).prefault({}),
  limits: operationLimitSettings,
  cost: costSettings,
  rate_limits: rateLimitSettings,
  cache_control: cacheControlSettings,
  cors: settingsSection({
    /** Browser origins allowed to call the gateway; `*` allows any. */
    allowed_origins: z.array(origin).default([]),
  }).prefault({}),
  persisted_queries: persistedQuerySettings,
  headers: settingsSection({
    /** Client headers passed on to every subgraph fetch (e.g. `authorization` in drop-in mode); never `x-geofed-*`. */
    forward: z.array(forwardedHeaderName).default([]),
  }).prefault({}),
  auth: settingsSection({
    /** RS256/ES256 tokens are verified against this JWKS (HS256 with GEOFED_JWT_SECRET stays accepted). */
    jwks_url: httpUrl.optional(),
    /** Required `iss` claim, when set. */
    issuer: z.string().min(1).optional(),
    /** Required `aud` claim, when set. */
    audience: z.string().min(1).optional(),
    /** The longest lifetime (`exp − iat`) a token may have; a token without `exp` is refused. */
    max_token_lifetime_seconds: positiveInteger.default(86_400),
  }).prefault({}),
  /** Bounds of what the gateway keeps per key in its own memory: tenants, buckets, nonces, documents, plans (memory-settings.ts). */
  memory: memorySettings,
  /** Which version of each subgraph each region runs, canaries and their guard (docs/rollouts.md). */
  rollout: rolloutSection,
  /** Synthetic probes through each region's gateway and their SLOs (docs/operations.md, "Synthetic probes"). */
  probes: probeSection,
});

type Issues = { issues: z.core.$ZodRawIssue[] };

/**
 * The file's schema, resolved against where it lives and the environment: the
 * one definition of geofed's config, whose output type is `GeofedConfig`.
 */
export function configSchema(path: string, env: GatewayEnv) {
  const base = dirname(path);
  return fileSchema.transform((file, context) => {
    const problem = (at: string, message: string) => context.issues.push({ code: 'custom', path: [at], message, input: undefined });
    const region = env.region ?? file.gateway.region ?? file.regions[0]!;
    if (!file.regions.includes(region)) problem(env.region ? 'GEOFED_REGION' : 'gateway.region', `"${region}" is not one of regions [${file.regions.join(', ')}]`);
    const subgraphs = Object.entries(file.subgraphs).map(([name, entry]) => resolveSubgraph(name, entry, file.regions, base, env, problem));
    const { billingPlans, defaultBillingPlan } = file.rate_limits;
    if (Object.keys(billingPlans).length > 0 && !(defaultBillingPlan in billingPlans)) {
      problem('rate_limits.default_plan', `"${defaultBillingPlan}" is not one of rate_limits.plans [${Object.keys(billingPlans).join(', ')}]`);
    }
    for (const [billingPlan, size] of Object.entries(billingPlans)) {
      for (const r of Object.keys(size.regions)) if (!file.regions.includes(r)) problem(`rate_limits.plans.${billingPlan}.regions.${r}`, notARegion(r, file.regions));
    }
    const directory = file.gateway.tenantsDirectory;
    if (directory !== undefined && !(directory in file.subgraphs)) problem('gateway.tenants_directory', `"${directory}" is not one of subgraphs [${Object.keys(file.subgraphs).join(', ')}]`);
    if (directory === undefined && subgraphs.some((s) => s.scope === 'regional')) {
      problem('gateway.tenants_directory', 'regional subgraphs need a tenants directory to find each tenant\'s region: name the subgraph that answers it');
    }
    if (file.headers.forward.includes('authorization') && subgraphs.some((s) => s.scope === 'regional')) {
      problem('headers.forward', 'authorization is the gateway\'s own token while a subgraph is regional (it finds the tenant\'s home region): forward it only to a graph of global subgraphs, such as drop-in mode serves');
    }
    const { tenantsDirectory: _directory, ...gateway } = file.gateway;
    for (const r of Object.keys(file.gateways)) if (!file.regions.includes(r)) problem(`gateways.${r}`, notARegion(r, file.regions));
    if (file.routing.remoteExecution === 'forward' && file.regions.length > 1) {
      for (const r of file.regions) if (!(r in file.gateways)) problem(`gateways.${r}`, 'missing: routing.remote_execution "forward" sends each tenant\'s operations to its home region\'s gateway (or set it to "fetch")');
    }
    checkRolloutRegions(file.rollout.regions, subgraphs, file.regions, problem);
    const roundTrips = roundTripTable(file.routing.roundTripMs, file.regions, problem);
    for (const [from, order] of Object.entries(file.routing.globalFailover)) {
      for (const r of [from, ...order]) if (!file.regions.includes(r)) problem(`routing.global_failover.${from}`, notARegion(r, file.regions));
    }
    for (const r of Object.keys(file.probes.tenants)) if (!file.regions.includes(r)) problem(`probes.tenants.${r}`, notARegion(r, file.regions));
    if (Object.keys(file.probes.operations).length === 0) problem('probes.operations', 'empty: a probe round needs at least one operation');
    return {
      /** Absolute path of the file the config came from. */
      file: path,
      regions: file.regions,
      /** Absolute path of the composed supergraph SDL; undefined: composed from the subgraphs at start. */
      supergraphPath: file.supergraph === undefined ? undefined : resolve(base, file.supergraph),
      gateway: { ...gateway, region, port: env.port ?? file.gateway.port ?? portOf(file.gateways[region]?.url) ?? defaultGatewayPort, introspection: file.gateway.introspection ?? !env.production },
      /** The gateway of each region that has one. */
      gateways: file.gateways,
      routing: {
        remoteExecution: file.routing.remoteExecution,
        hopWindowSeconds: file.routing.hopWindowSeconds,
        forwardTimeoutMs: file.routing.forwardTimeoutMs,
        /** By gateway region: the regions its global reads fail over to, nearest first (its own excluded). */
        globalFailover: Object.fromEntries(file.regions.map((r) => [r, file.routing.globalFailover[r] ?? byDistance(r, file.regions, roundTrips)])) as Readonly<Record<string, readonly string[]>>,
      },
      /** The subgraph that answers tenantDirectoryEntry(id:); undefined: every verified tenant lives in the one region. */
      tenantsDirectory: directory,
      subgraphs,
      circuitBreaker: file.circuit_breaker,
      subgraphLimits: file.subgraph_limits,
      limits: file.limits,
      cost: file.cost,
      rateLimits: file.rate_limits,
      cacheControl: file.cache_control,
      cors: { allowedOrigins: file.cors.allowedOrigins.map((o) => o.replace(/\/$/, '')) },
      persistedQueries: { mode: file.persisted_queries.mode, manifestPath: file.persisted_queries.manifest === undefined ? undefined : resolve(base, file.persisted_queries.manifest) },
      auth: { ...file.auth, ...env.auth },
      forwardHeaders: [...new Set(file.headers.forward)] as readonly string[],
      memory: file.memory,
      rollout: file.rollout,
      probes: file.probes,
    };
  });
}

export type GeofedConfig = z.output<ReturnType<typeof configSchema>>;
export type SubgraphConfig = ReturnType<typeof resolveSubgraph>;

function resolveSubgraph(name: string, entry: z.output<typeof subgraphEntry>, regions: readonly string[], base: string, env: GatewayEnv, problem: (at: string, message: string) => void) {
  const schema = schemaSource(entry.schema, base);
  const routingUrl = entry.routing_url ?? ('subgraphUrl' in schema ? schema.subgraphUrl : undefined);
  if (routingUrl === undefined) problem(`subgraphs.${name}.routing_url`, 'missing (a subgraph whose schema is a file needs a routing_url)');
  const urls: Record<string, string> = {};
  for (const region of regions) {
    const variable = subgraphUrlVariable(name, region);
    const url = env.subgraphUrls[variable] ?? entry.urls[region] ?? (entry.scope === 'global' ? routingUrl : undefined);
    if (url === undefined) problem(`subgraphs.${name}.urls.${region}`, 'missing (a regional subgraph needs a URL in every region)');
    else if (!httpUrl.safeParse(url).success) problem(variable, `expected an http(s) URL, got "${url}"`);
    else urls[region] = url;
  }
  for (const region of Object.keys(entry.urls)) if (!regions.includes(region)) problem(`subgraphs.${name}.urls.${region}`, notARegion(region, regions));
  return {
    name,
    scope: entry.scope,
    /** Where the SDL comes from: an absolute file path, or the running subgraph's URL. */
    schema,
    /** The URL written into the composed supergraph. */
    routingUrl: routingUrl ?? '',
    /** The URL of the subgraph's instance in each region. */
    urls: urls as Readonly<Record<string, string>>,
    /** The label of the base entry's version. */
    version: entry.version,
    /** The other versions (versions.ts): the base entry's is this schema and these urls. */
    versions: resolveVersions(name, entry.version, entry.versions, regions, base, problem),
  };
}

const defaultGatewayPort = 4_000;

function portOf(url: string | undefined): number | undefined {
  if (url === undefined) return undefined;
  const parsed = new URL(url);
  return parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
}

/** `routing.round_trip_ms` as a lookup of both directions; every named region must be declared. */
function roundTripTable(pairs: Readonly<Record<string, number>>, regions: readonly string[], problem: (at: string, message: string) => void): ReadonlyMap<string, number> {
  const table = new Map<string, number>();
  for (const [pair, ms] of Object.entries(pairs)) {
    const [a, b] = pair.split('-') as [string, string];
    for (const r of [a, b]) if (!regions.includes(r)) problem(`routing.round_trip_ms.${pair}`, notARegion(r, regions));
    table.set(`${a}-${b}`, ms).set(`${b}-${a}`, ms);
  }
  return table;
}

/** The other regions, nearest first; those without a known round trip last, in the file's order. */
function byDistance(from: string, regions: readonly string[], table: ReadonlyMap<string, number>): string[] {
  const others = regions.filter((r) => r !== from);
  const distance = (r: string) => table.get(`${from}-${r}`) ?? Number.POSITIVE_INFINITY;
  return others.map((r, index) => ({ r, index })).sort((x, y) => distance(x.r) - distance(y.r) || x.index - y.index).map(({ r }) => r);
}

function notARegion(region: string, regions: readonly string[]): string {
  return `"${region}" is not one of regions [${regions.join(', ')}]`;
}
