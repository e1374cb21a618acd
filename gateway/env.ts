import { z } from 'zod';
import { secretProblem, subgraphSecrets, type SubgraphSecrets } from '../protocol/secrets.js';
import { eventsSettings, type EventsSettings } from '../runtime/events/settings.js';
import { parseSettings, setVariables } from '../runtime/settings.js';
import { ConfigError } from './config-error.js';

/** `GEOFED_SUBGRAPH_URL_USERS_EU` overrides the URL of `users` in `eu` (a `-` in a name is `_` here). */
export function subgraphUrlVariable(subgraph: string, region: string): string {
  return `GEOFED_SUBGRAPH_URL_${subgraph.toUpperCase().replaceAll('-', '_')}_${region.toUpperCase()}`;
}

const httpUrl = z.url({ protocol: /^https?$/, error: 'an http(s) URL' });

/**
 * The gateway's environment: the only place the gateway reads a variable
 * (README, "Environment"). Every other module receives these typed values.
 */
const gatewayVariables = z
  .object({
    NODE_ENV: z.string().optional(),
    GEOFED_CONFIG: z.string().default('supergraph.yaml'),
    GEOFED_REGION: z.string().optional(),
    PORT: z.coerce.number<string>({ error: 'expected a port number' }).int().min(0).max(65_535).optional(),
    HOST: z.string().default('127.0.0.1'),
    GEOFED_JWT_SECRET: z.string().optional(),
    GEOFED_SUBGRAPH_SECRET: z.string().optional(),
    GEOFED_SUBGRAPH_SECRET_PREVIOUS: z.string().optional(),
    GEOFED_GATEWAY_HOP_SECRET: z.string().optional(),
    GEOFED_GATEWAY_HOP_SECRET_PREVIOUS: z.string().optional(),
    GEOFED_ADMIN_SECRET: z.string().optional(),
    GEOFED_JWKS_URL: httpUrl.optional(),
    GEOFED_JWT_ISSUER: z.string().optional(),
    GEOFED_JWT_AUDIENCE: z.string().optional(),
    UPSTASH_REDIS_REST_URL: httpUrl.optional(),
    UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
    LOG_LEVEL: z.string().default('info'),
    GEOFED_AUDIT_LOG: z.string().default('info'),
  })
  .transform((parsed, context) => {
    for (const variable of ['GEOFED_SUBGRAPH_SECRET', 'GEOFED_GATEWAY_HOP_SECRET'] as const) {
      const problem = secretProblem(parsed[variable], parsed.NODE_ENV === 'production');
      if (problem) context.issues.push({ code: 'custom', path: [variable], message: problem, input: undefined });
    }
    // Unset, it is the hop secret, which production checks above.
    const adminProblem = parsed.GEOFED_ADMIN_SECRET === undefined ? undefined : secretProblem(parsed.GEOFED_ADMIN_SECRET, parsed.NODE_ENV === 'production');
    if (adminProblem) context.issues.push({ code: 'custom', path: ['GEOFED_ADMIN_SECRET'], message: adminProblem, input: undefined });
    const upstash = parsed.UPSTASH_REDIS_REST_URL && parsed.UPSTASH_REDIS_REST_TOKEN ? { url: parsed.UPSTASH_REDIS_REST_URL, token: parsed.UPSTASH_REDIS_REST_TOKEN } : undefined;
    return {
      production: parsed.NODE_ENV === 'production',
      /** Path of the config file. */
      configPath: parsed.GEOFED_CONFIG,
      /** Overrides `gateway.region`. */
      region: parsed.GEOFED_REGION,
      /** Overrides `gateway.port`. */
      port: parsed.PORT,
      /** Address the gateway binds. */
      host: parsed.HOST,
      /** HS256 secret of client tokens (tokens.ts applies production's rules, which depend on the config). */
      jwtSecret: parsed.GEOFED_JWT_SECRET,
      subgraphSecrets: subgraphSecrets(parsed.GEOFED_SUBGRAPH_SECRET, parsed.GEOFED_SUBGRAPH_SECRET_PREVIOUS),
      /** Signs and verifies the hop between gateways: a secret of its own, shared by the gateways only. */
      hopSecrets: hopSecrets(parsed.GEOFED_GATEWAY_HOP_SECRET, parsed.GEOFED_GATEWAY_HOP_SECRET_PREVIOUS),
      /** Signs an operator's rollout commands (`npx geofed rollout`, docs/rollouts.md); without it, the hop secret. */
      adminSecret: parsed.GEOFED_ADMIN_SECRET ?? parsed.GEOFED_GATEWAY_HOP_SECRET ?? devHopSecret,
      /** Override `auth.*`. */
      auth: withoutUndefined({ jwksUrl: parsed.GEOFED_JWKS_URL, issuer: parsed.GEOFED_JWT_ISSUER, audience: parsed.GEOFED_JWT_AUDIENCE }),
      /** Budgets and the APQ store in Upstash Redis, shared by every gateway. */
      upstash,
      logLevel: parsed.LOG_LEVEL,
      auditLogLevel: parsed.GEOFED_AUDIT_LOG,
    };
  });

export type GatewayEnv = z.output<typeof gatewayVariables> & {
  /** `GEOFED_SUBGRAPH_URL_<SUBGRAPH>_<REGION>` values, by variable name. */
  readonly subgraphUrls: Readonly<Record<string, string>>;
  /** Each region's own Upstash Redis (`UPSTASH_REDIS_REST_URL_<REGION>`, `_TOKEN_<REGION>`), by lower-case region. */
  readonly regionalUpstash: Readonly<Record<string, { readonly url: string; readonly token: string }>>;
  /** The event bus the gateway consumes catalog events from (GEOFED_NATS_URL, else this process's; docs/events.md). */
  readonly events: EventsSettings;
};

/** Reads the gateway's variables once; a bad value stops start-up with a message naming it. */
export function gatewayEnv(env: NodeJS.ProcessEnv = process.env): GatewayEnv {
  const set = setVariables(env);
  return {
    ...parseSettings(gatewayVariables, set, 'the environment', ConfigError),
    subgraphUrls: Object.fromEntries(Object.entries(set).filter(([name]) => name.startsWith('GEOFED_SUBGRAPH_URL_'))),
    regionalUpstash: regionalStores(set),
    events: eventsSettings(env),
  };
}

/** Documented in docs/configuration.md; refused when NODE_ENV=production. */
export const devHopSecret = 'geofed-dev-hop-secret-do-not-use-in-production';

function hopSecrets(current: string | undefined, previous: string | undefined) {
  const signing = current ?? devHopSecret;
  return { current: signing, accepted: previous ? [signing, previous] : [signing] };
}

/** `UPSTASH_REDIS_REST_URL_EU` with `UPSTASH_REDIS_REST_TOKEN_EU`: the eu region's own store. A URL without its token is an error. */
function regionalStores(set: Readonly<Record<string, string>>): Record<string, { url: string; token: string }> {
  const stores: Record<string, { url: string; token: string }> = {};
  for (const [name, url] of Object.entries(set)) {
    const match = /^UPSTASH_REDIS_REST_URL_([A-Z][A-Z0-9_]*)$/.exec(name);
    if (!match) continue;
    const token = set[`UPSTASH_REDIS_REST_TOKEN_${match[1]}`];
    if (token === undefined || !httpUrl.safeParse(url).success) throw new ConfigError(`the environment is not valid:\n  ${name}: needs an http(s) URL and UPSTASH_REDIS_REST_TOKEN_${match[1]}`);
    stores[match[1]!.toLowerCase()] = { url, token };
  }
  return stores;
}

/** `value` without its unset keys; typed with optional keys so that spreading it over the file's settings keeps theirs optional. */
function withoutUndefined<T extends object>(value: T): { [Key in keyof T]?: Exclude<T[Key], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [Key in keyof T]?: Exclude<T[Key], undefined> };
}
