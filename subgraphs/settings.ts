import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { secretProblem, subgraphSecrets } from '../protocol/secrets.js';
import { defaultDrainMs } from '../runtime/http-server.js';
import { eventsSettings, type EventsSettings } from '../runtime/events/settings.js';
import { parseSettings, regionName, setVariables, SettingsError } from '../runtime/settings.js';
import { defaultPool, type DatabaseTarget } from './shared/db.js';
import { webhookSettings, type WebhookSettings } from './users/webhooks/settings.js';

/** The subgraphs geofed ships. */
export const subgraphNames = ['catalog', 'users', 'orders'] as const;
export type SubgraphName = (typeof subgraphNames)[number];

/**
 * Default ports of the shipped regions, matching the development URLs of
 * supergraph.yaml: catalog 4101–4104, users 4201–4204, orders 4301–4304.
 * Any other region needs PORT.
 */
const shippedRegions = ['us', 'eu', 'apac', 'latam'];
const portBase: Readonly<Record<SubgraphName, number>> = { catalog: 4100, users: 4200, orders: 4300 };

export function defaultPort(subgraph: SubgraphName, region: string): number | undefined {
  const index = shippedRegions.indexOf(region);
  return index < 0 ? undefined : portBase[subgraph] + index + 1;
}

export const catalogDatabaseVariable = 'GEOFED_CATALOG_DATABASE_URL';
export const catalogReplicaVariable = (region: string) => `GEOFED_CATALOG_REPLICA_URL_${region.toUpperCase()}`;
export const regionDatabaseVariable = (region: string) => `GEOFED_DATABASE_URL_${region.toUpperCase()}`;

const milliseconds = z.coerce.number<string>().int().nonnegative();
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL');

/** The SDL files live in schema/ at the repository's root. */
const schemaFolder = fileURLToPath(new URL('../schema/', import.meta.url));

/**
 * One subgraph instance's settings, from its own environment (README,
 * "Configuration": which setting belongs to which deployable). A subgraph reads
 * no supergraph.yaml: that is the gateway's file.
 */
function variablesSchema(subgraph: SubgraphName, region: string, variables: Readonly<Record<string, string>>) {
  const databaseVariable = subgraph === 'catalog' ? catalogDatabaseVariable : regionDatabaseVariable(region);
  const replicaVariable = catalogReplicaVariable(region);
  return z
    .object({
      NODE_ENV: z.string().optional(),
      HOST: z.string().default('127.0.0.1'),
      PORT: z.coerce.number<string>({ error: 'expected a port number' }).int().min(0).max(65_535).optional(),
      GEOFED_SUBGRAPH_SECRET: z.string().optional(),
      GEOFED_SUBGRAPH_SECRET_PREVIOUS: z.string().optional(),
      /** How far a signed request's timestamp may be from this instance's clock. */
      GEOFED_SIGNATURE_WINDOW_SECONDS: z.coerce.number<string>().int().positive().default(60),
      /** A read with a consistency token waits this long for the replica, then reads the primary. */
      GEOFED_REPLICA_CONSISTENCY_WAIT_MS: milliseconds.default(100),
      /** A replica further behind the primary (WAL bytes) leaves the read path until it catches up. */
      GEOFED_REPLICA_MAX_LAG_BYTES: z.coerce.number<string>().int().positive().default(16 * 1024 * 1024),
      GEOFED_REPLICA_HEALTH_CHECK_INTERVAL_MS: z.coerce.number<string>().int().positive().default(1_000),
      /** The catalog instance the orders subgraph prices new orders at. */
      GEOFED_CATALOG_URL: z.url({ protocol: /^https?$/ }).optional(),
      GEOFED_SCHEMA_FILE: z.string().optional(),
      /** Connections each database handle of the instance may hold (a catalog instance holds two: primary and replica). */
      GEOFED_DATABASE_POOL_SIZE: z.coerce.number<string>().int().positive().default(defaultPool.size),
      GEOFED_DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number<string>().int().positive().default(defaultPool.connectTimeoutMs),
      /** On SIGINT/SIGTERM, in-flight requests get this long to finish before their connections are closed. */
      GEOFED_DRAIN_TIMEOUT_MS: z.coerce.number<string>().int().positive().default(defaultDrainMs),
      LOG_LEVEL: z.string().default('info'),
      GEOFED_AUDIT_LOG: z.string().default('info'),
    })
    .transform((env, context) => {
      const production = env.NODE_ENV === 'production';
      const problem = secretProblem(env.GEOFED_SUBGRAPH_SECRET, production);
      if (problem) context.issues.push({ code: 'custom', path: ['GEOFED_SUBGRAPH_SECRET'], message: problem, input: undefined });
      const port = env.PORT ?? defaultPort(subgraph, region);
      if (port === undefined) context.issues.push({ code: 'custom', path: ['PORT'], message: `needed: region "${region}" has no default port`, input: undefined });
      const url = (variable: string) => {
        const value = variables[variable];
        if (value !== undefined && !postgresUrl.safeParse(value).success) context.issues.push({ code: 'custom', path: [variable], message: 'expected a postgres:// URL', input: undefined });
        return value;
      };
      const databaseUrl = url(databaseVariable);
      const replicaUrl = subgraph === 'catalog' ? url(replicaVariable) : undefined;
      const catalogPort = defaultPort('catalog', region);
      if (subgraph === 'orders' && env.GEOFED_CATALOG_URL === undefined && catalogPort === undefined) {
        context.issues.push({ code: 'custom', path: ['GEOFED_CATALOG_URL'], message: `needed: region "${region}" has no default catalog port`, input: undefined });
      }
      // No embedded default: a PGlite folder belongs to one process, and an instance shares its databases.
      const database: DatabaseTarget | undefined = databaseUrl ? { driver: 'postgres', url: databaseUrl } : undefined;
      return {
        subgraph,
        region,
        production,
        host: env.HOST,
        port: port ?? 0,
        secrets: subgraphSecrets(env.GEOFED_SUBGRAPH_SECRET, env.GEOFED_SUBGRAPH_SECRET_PREVIOUS),
        signatureWindowSeconds: env.GEOFED_SIGNATURE_WINDOW_SECONDS,
        schemaPath: resolve(env.GEOFED_SCHEMA_FILE ?? join(schemaFolder, `${subgraph}.graphql`)),
        /** The instance's database (the catalog's primary); undefined until its URL is set. */
        database,
        /** The variable that names the database. */
        databaseVariable,
        /** The region's streaming replica of the catalog database (catalog only). */
        replica: replicaUrl ? ({ driver: 'postgres', url: replicaUrl } satisfies DatabaseTarget as DatabaseTarget) : undefined,
        replicas: {
          consistencyWaitMs: env.GEOFED_REPLICA_CONSISTENCY_WAIT_MS,
          maxLagBytes: env.GEOFED_REPLICA_MAX_LAG_BYTES,
          healthCheckIntervalMs: env.GEOFED_REPLICA_HEALTH_CHECK_INTERVAL_MS,
        },
        catalogUrl: env.GEOFED_CATALOG_URL ?? `http://127.0.0.1:${catalogPort ?? 0}/graphql`,
        pool: { size: env.GEOFED_DATABASE_POOL_SIZE, connectTimeoutMs: env.GEOFED_DATABASE_CONNECT_TIMEOUT_MS },
        drainTimeoutMs: env.GEOFED_DRAIN_TIMEOUT_MS,
        logLevel: env.LOG_LEVEL,
        auditLogLevel: env.GEOFED_AUDIT_LOG,
      };
    });
}

export type SubgraphSettings = z.output<ReturnType<typeof variablesSchema>> & {
  /** The event bus and outbox relay of the instance's database (docs/events.md). */
  readonly events: EventsSettings;
  /** The users subgraph's webhooks (its process delivers its region's); undefined for the others. */
  readonly webhooks: WebhookSettings | undefined;
};
export type ReplicaSettings = SubgraphSettings['replicas'];

/**
 * Settings of one instance of `subgraph` in `region`, from the environment: the
 * one place a subgraph process reads it. A bad value stops start-up naming the
 * variable.
 */
export function subgraphSettings(subgraph: SubgraphName, region: string, env: NodeJS.ProcessEnv = process.env): SubgraphSettings {
  if (!regionName.safeParse(region).success) throw new SettingsError(`--region: "${region}" is not a region name such as "eu"`);
  const variables = setVariables(env);
  const instance = parseSettings(variablesSchema(subgraph, region, variables), variables, `the environment of ${subgraph} (${region})`);
  return { ...instance, events: eventsSettings(env), webhooks: subgraph === 'users' ? webhookSettings(env) : undefined };
}
