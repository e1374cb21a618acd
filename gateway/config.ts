import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { fileSchema, httpUrl, toBucket, type FileConfig } from './config-schema.js';

export type SubgraphScope = 'global' | 'regional';

export interface SubgraphConfig {
  readonly name: string;
  readonly scope: SubgraphScope;
  /** Absolute path of the subgraph's SDL file. */
  readonly schemaPath: string;
  /** The URL of the subgraph's instance in each region. */
  readonly urls: Readonly<Record<string, string>>;
}

export interface GatewaySettings {
  readonly region: string;
  readonly port: number;
  /** Bound of one subgraph fetch; a regional fetch past it is REGION_UNAVAILABLE. */
  readonly subgraphTimeoutMs: number;
  readonly tenantCacheTtlMs: number;
  readonly maxBodyBytes: number;
  /** Schema introspection; off in production unless enabled. */
  readonly introspection: boolean;
}

export interface CircuitBreakerSettings {
  /** Consecutive failed fetches to one subgraph in one region that open its breaker. */
  readonly failureThreshold: number;
  /** How long an open breaker fails fast before it lets one trial request through. */
  readonly openMs: number;
}

export interface SecuritySettings {
  /** How far a signed subgraph request's timestamp may be from the subgraph's clock. */
  readonly signatureWindowSeconds: number;
}

export interface OperationLimits {
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxTokens: number;
  readonly maxDirectives: number;
}

export interface ReplicaSettings {
  /** How long a read that carries a consistency token waits for the local replica before reading the primary. */
  readonly consistencyWaitMs: number;
  /** A replica further behind the primary than this (WAL bytes) is taken out of the read path. */
  readonly maxLagBytes: number;
  readonly healthCheckIntervalMs: number;
}

export interface CostSettings {
  /** Operations estimated above this are refused before any subgraph is called. */
  readonly maxOperationCost: number;
  readonly defaultListSize: number;
  readonly mutationCost: number;
}

export interface BucketSize {
  readonly capacity: number;
  readonly refillPerSecond: number;
}

export interface RateLimitSettings {
  readonly enabled: boolean;
  /** `open`: admit operations while the store cannot be reached; `closed`: refuse them. */
  readonly onStoreError: 'open' | 'closed';
  /** A debit that takes longer counts as a store error. */
  readonly storeTimeoutMs: number;
  /** Prefix of every bucket key in the shared store. */
  readonly keyPrefix: string;
  /** Plan used for a tenant whose plan has no entry. */
  readonly defaultPlan: string;
  /** Bucket size by plan, with per-region overrides. */
  readonly plans: Readonly<Record<string, BucketSize & { readonly regions: Readonly<Record<string, BucketSize>> }>>;
  /** The budget anonymous callers share per client key and region. */
  readonly anonymous: BucketSize & { readonly clientKey: 'address' | 'x-forwarded-for' };
}

export interface CacheSettings {
  /**
   * Seconds a shared cache may keep an anonymous response, by type ("Product":
   * every field of it) or field ("Query.products"). A response is public only
   * when every field it selects has a hint; its s-maxage is the smallest.
   */
  readonly maxAge: Readonly<Record<string, number>>;
  /** Browser origins allowed to call the gateway (CORS); `*` allows any. */
  readonly allowedOrigins: readonly string[];
}

export interface PersistedQuerySettings {
  /** Absolute path of an apollo-persisted-query-manifest file. */
  readonly manifestPath?: string;
  readonly mode: 'off' | 'log-unlisted' | 'safelist';
}

export interface AuthSettings {
  /** RS256/ES256 tokens are verified against this JWKS (HS256 with GEOFED_JWT_SECRET stays accepted). */
  readonly jwksUrl?: string;
  /** Required `iss` claim, when set. */
  readonly issuer?: string;
  /** Required `aud` claim, when set. */
  readonly audience?: string;
}

export interface GeofedConfig {
  /** Absolute path of the file the config came from. */
  readonly file: string;
  readonly regions: readonly string[];
  /** Absolute path of the composed supergraph SDL. */
  readonly supergraphPath: string;
  readonly gateway: GatewaySettings;
  readonly subgraphs: readonly SubgraphConfig[];
  readonly circuitBreaker: CircuitBreakerSettings;
  readonly security: SecuritySettings;
  readonly limits: OperationLimits;
  readonly auth: AuthSettings;
  readonly replicas: ReplicaSettings;
  readonly cost: CostSettings;
  readonly rateLimits: RateLimitSettings;
  readonly cache: CacheSettings;
  readonly persistedQueries: PersistedQuerySettings;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}



/** `GEOFED_SUBGRAPH_URL_USERS_EU` overrides the URL of `users` in `eu`. */
export function subgraphUrlVariable(subgraph: string, region: string): string {
  return `GEOFED_SUBGRAPH_URL_${subgraph.toUpperCase()}_${region.toUpperCase()}`;
}

/**
 * Reads and validates `supergraph.yaml` once. Every problem names the file, the
 * key and what was expected, so a bad deploy stops at start-up, not at the first request.
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): GeofedConfig {
  const path = resolve(file);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${path}: cannot be read as YAML: ${(error as Error).message}`);
  }
  return configFromObject(raw, path, env);
}

/** Validates a config already read (drop-in mode builds one); `path` names it in errors and anchors relative paths. */
export function configFromObject(raw: unknown, path: string, env: NodeJS.ProcessEnv = process.env): GeofedConfig {
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(top level)'}: ${describeIssue(issue)}`,
    );
    throw new ConfigError(`${path} is not a valid geofed config:\n${lines.join('\n')}`);
  }
  return toConfig(path, parsed.data, env);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return `expected ${issue.expected}`;
  if (issue.code === 'unrecognized_keys') return `unknown key(s) ${issue.keys.join(', ')}`;
  return issue.message;
}

function toConfig(path: string, file: FileConfig, env: NodeJS.ProcessEnv): GeofedConfig {
  const problems: string[] = [];
  const region = env.GEOFED_REGION ?? file.gateway.region;
  if (!file.regions.includes(region)) {
    const source = env.GEOFED_REGION ? 'GEOFED_REGION' : 'gateway.region';
    problems.push(`${source}: "${region}" is not one of regions [${file.regions.join(', ')}]`);
  }
  const port = env.PORT === undefined ? file.gateway.port : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    problems.push(`PORT: expected a port number, got "${env.PORT}"`);
  }
  const subgraphs = Object.entries(file.subgraphs).map(([name, subgraph]): SubgraphConfig => {
    const urls: Record<string, string> = {};
    for (const r of file.regions) {
      const variable = subgraphUrlVariable(name, r);
      const url = env[variable] ?? subgraph.urls[r];
      if (url === undefined) problems.push(`subgraphs.${name}.urls.${r}: missing (every subgraph needs a URL in every region)`);
      else if (!httpUrl.safeParse(url).success) problems.push(`${variable}: expected an http(s) URL, got "${url}"`);
      else urls[r] = url;
    }
    for (const r of Object.keys(subgraph.urls)) {
      if (!file.regions.includes(r)) problems.push(`subgraphs.${name}.urls.${r}: "${r}" is not one of regions [${file.regions.join(', ')}]`);
    }
    return { name, scope: subgraph.scope, schemaPath: resolve(dirname(path), subgraph.schema), urls };
  });
  if (file.persisted_queries.mode !== 'off' && !file.persisted_queries.manifest) {
    problems.push(`persisted_queries.manifest: mode "${file.persisted_queries.mode}" needs a manifest file`);
  }
  const plans = file.rate_limits.plans;
  if (Object.keys(plans).length > 0 && !(file.rate_limits.default_plan in plans)) {
    problems.push(`rate_limits.default_plan: "${file.rate_limits.default_plan}" is not one of rate_limits.plans [${Object.keys(plans).join(', ')}]`);
  }
  for (const [plan, size] of Object.entries(plans)) {
    for (const r of Object.keys(size.regions)) {
      if (!file.regions.includes(r)) problems.push(`rate_limits.plans.${plan}.regions.${r}: "${r}" is not one of regions [${file.regions.join(', ')}]`);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`${path} is not a valid geofed config:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
  return {
    file: path,
    regions: file.regions,
    supergraphPath: resolve(dirname(path), file.supergraph),
    gateway: {
      region,
      port,
      subgraphTimeoutMs: file.gateway.subgraph_timeout_ms,
      tenantCacheTtlMs: file.gateway.tenant_cache_ttl_ms,
      maxBodyBytes: file.gateway.max_body_bytes,
      introspection: file.gateway.introspection ?? env.NODE_ENV !== 'production',
    },
    subgraphs,
    circuitBreaker: { failureThreshold: file.circuit_breaker.failure_threshold, openMs: file.circuit_breaker.open_ms },
    security: { signatureWindowSeconds: file.security.signature_window_seconds },
    limits: {
      maxDepth: file.limits.max_depth,
      maxAliases: file.limits.max_aliases,
      maxTokens: file.limits.max_tokens,
      maxDirectives: file.limits.max_directives,
    },
    replicas: {
      consistencyWaitMs: file.replicas.consistency_wait_ms,
      maxLagBytes: file.replicas.max_lag_bytes,
      healthCheckIntervalMs: file.replicas.health_check_interval_ms,
    },
    cost: {
      maxOperationCost: file.cost.max_operation_cost,
      defaultListSize: file.cost.default_list_size,
      mutationCost: file.cost.mutation_cost,
    },
    rateLimits: {
      enabled: file.rate_limits.enabled,
      onStoreError: file.rate_limits.on_store_error,
      storeTimeoutMs: file.rate_limits.store_timeout_ms,
      keyPrefix: file.rate_limits.key_prefix,
      defaultPlan: file.rate_limits.default_plan,
      plans: Object.fromEntries(
        Object.entries(file.rate_limits.plans).map(([plan, size]) => [
          plan,
          { ...toBucket(size), regions: Object.fromEntries(Object.entries(size.regions).map(([region, r]) => [region, toBucket(r)])) },
        ]),
      ),
      anonymous: { ...toBucket(file.rate_limits.anonymous), clientKey: file.rate_limits.anonymous.client_key },
    },
    cache: { maxAge: file.cache_control.max_age, allowedOrigins: file.cors.allowed_origins.map((origin) => origin.replace(/\/$/, '')) },
    persistedQueries: {
      mode: file.persisted_queries.mode,
      ...(file.persisted_queries.manifest ? { manifestPath: resolve(dirname(path), file.persisted_queries.manifest) } : {}),
    },
    auth: withoutUndefined({
      jwksUrl: env.GEOFED_JWKS_URL ?? file.auth.jwks_url,
      issuer: env.GEOFED_JWT_ISSUER ?? file.auth.issuer,
      audience: env.GEOFED_JWT_AUDIENCE ?? file.auth.audience,
    }),
  };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.GEOFED_CONFIG ?? 'supergraph.yaml';
}

export function findSubgraph(config: GeofedConfig, name: string): SubgraphConfig {
  const subgraph = config.subgraphs.find((s) => s.name === name);
  if (!subgraph) {
    throw new ConfigError(`${config.file}: no subgraph "${name}" (have ${config.subgraphs.map((s) => s.name).join(', ')})`);
  }
  return subgraph;
}
