import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { ApolloServer, type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { sql } from 'drizzle-orm';
import { parse, type GraphQLFormattedError } from 'graphql';
import { httpGraphQLRequest, parseRequestBody, readRawBody, writeApolloResponse, writeBodyError } from '../../runtime/apollo-http.js';
import { apolloOffline } from '../../runtime/apollo-offline.js';
import { startHttpServer, writeGraphQLError, writeJson } from '../../runtime/http-server.js';
import { describeError } from '../../runtime/error-report.js';
import { logger } from '../../runtime/logger.js';
import { inHttpServerSpan, inSpan, signedTraceParent, traceAttributes } from '../../runtime/tracing.js';
import { memoryNonceStore } from '../../runtime/nonce-store.js';
import { ErrorCode } from '../../protocol/errors.js';
import { nulCharacterError } from '../../protocol/input-rules.js';
import { verifySignedRequest, type SignedCaller, type VerifyResult } from '../../protocol/signed-context.js';
import type { Registry } from 'prom-client';
import { isCapacityFailure, isConnectionFailure } from './db-errors.js';
import { tenantSetting, type Database, type DatabaseHandle } from './db.js';
import { rowsOf } from './rows.js';

/** A gateway's fetch body: its query plan's documents and an `_entities` batch's representations. */
const maxSubgraphBodyBytes = 4 * 1_048_576;

export interface SubgraphDefinition<TContext extends BaseContext & { db: Database }> {
  readonly name: string;
  readonly region: string;
  /** A regional instance serves only callers whose tenant lives in its region. */
  readonly scope: 'regional' | 'global';
  readonly schemaPath: string;
  readonly resolvers: GraphQLResolverMap<TContext>;
  /** Runs one request's work in the database scope it needs (a tenant's transaction, a routed read). */
  readonly requestScope: <T>(caller: SignedCaller, work: (db: Database) => Promise<T>) => Promise<T>;
  /** Builds the per-request context on the request's database handle (loaders are per request, so batches never mix callers). */
  readonly context: (caller: SignedCaller, db: Database) => TContext;
  readonly plugins?: readonly ApolloServerPlugin<TContext>[];
  /** Served on `/metrics` when present. */
  readonly metrics?: Registry;
  /** Stops background work (health checks) when the server stops. */
  readonly onStop?: () => void;
}

/**
 * The scope of a regional subgraph: every request with a tenant runs in that tenant's RLS transaction, a span
 * of its own (`geofed.db.transaction`) from its begin to its commit.
 */
export function tenantScope(database: DatabaseHandle) {
  return <T>(caller: SignedCaller, work: (db: Database) => Promise<T>): Promise<T> => {
    const { tenantId } = caller;
    if (tenantId === undefined) return work(database.db);
    return inSpan('geofed.db.transaction', { attributes: { 'db.system.name': 'postgresql', 'geofed.db.driver': database.driver } }, () => database.withTenant(tenantId, work));
  };
}

export interface SubgraphSecurity {
  /** Secrets whose signatures are accepted (current and, during a rotation, previous). */
  readonly secrets: readonly string[];
  readonly windowSeconds: number;
}

/**
 * Switches that exist only when a test starts the subgraph: nothing in the
 * environment or in a request can turn them on.
 */
export interface SubgraphTestHooks {
  /**
   * Adds `extensions.geofedSession` to every answer: the role, tenant setting,
   * server port and recovery state in force inside the request's own transaction.
   */
  readonly reportSession?: boolean;
  /**
   * Keeps the signature check of the last requests (RunningSubgraph.receivedCallers):
   * what a gateway really forwarded, which its answer to the client cannot show.
   */
  readonly recordCallers?: boolean;
}

/** Enough for one test's requests to one instance; older entries are dropped. */
const recordedRequestLimit = 100;

export interface ReceivedRequest {
  /** The request's number on this instance, as counted by requestCount(). */
  readonly sequence: number;
  /** The caller the signature vouched for, or why the request was refused. */
  readonly verified: VerifyResult;
}

export interface RunningSubgraph {
  readonly name: string;
  readonly region: string;
  /** The GraphQL endpoint, for supergraph.yaml or a test's config. */
  readonly url: string;
  /** GraphQL requests this instance has received: tests read it to see where fetches went. */
  requestCount(): number;
  /** The last GraphQL requests' signature checks, oldest first; only with the `recordCallers` test hook. */
  receivedCallers(): readonly ReceivedRequest[];
  /** Drains: stops accepting, lets in-flight requests finish (up to `drainMs`), then stops. */
  stop(drainMs?: number): Promise<void>;
}

export interface SubgraphListenOptions {
  readonly host?: string;
  readonly port?: number;
  readonly security: SubgraphSecurity;
  readonly testHooks?: SubgraphTestHooks;
  /** Field suggestions and introspection are off in production. */
  readonly production?: boolean;
}

/**
 * Step 7 of a request (README, "How a request is served"): a subgraph
 * instance's HTTP server. The gateway's signature is verified before the body
 * is parsed, a regional instance refuses a tenant of another region, and the
 * request runs in the definition's request scope; its resolvers
 * (subgraphs/<name>/resolvers.ts) are the last step.
 */
export async function startSubgraph<TContext extends BaseContext & { db: Database }>(
  definition: SubgraphDefinition<TContext>,
  { host = '127.0.0.1', port = 0, security, testHooks = {}, production = false }: SubgraphListenOptions,
): Promise<RunningSubgraph> {
  const log = logger.child({ subgraph: definition.name, region: definition.region });
  const server = new ApolloServer<TContext>({
    schema: buildSubgraphSchema({ typeDefs: parse(readFileSync(definition.schemaPath, 'utf8')), resolvers: definition.resolvers as GraphQLResolverMap<unknown> }),
    plugins: [ApolloServerPluginInlineTraceDisabled(), ...apolloOffline(), nulGuardPlugin<TContext>(), ...(definition.plugins ?? []), ...(testHooks.reportSession ? [sessionReportPlugin<TContext>()] : [])],
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: production,
    introspection: !production,
    // Shutdown is ours: the process drains HTTP first, then stops Apollo (see runtime/process.ts).
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => maskInternalError(formatted, error, log),
  });
  await server.start();
  const nonces = memoryNonceStore();
  let requests = 0;
  const received: ReceivedRequest[] = [];

  const graphql = async (req: IncomingMessage, res: Parameters<typeof writeJson>[0], url: URL) => {
    requests += 1;
    const sequence = requests;
    const arrived = Date.now();
    const raw = await readRawBody(req, maxSubgraphBodyBytes);
    if (!raw.ok) return writeBodyError(res, raw);
    // Nothing runs, not even parsing, before the gateway's signature is verified.
    const verified = verifySignedRequest(
      { method: req.method ?? 'GET', path: url.pathname, headers: req.headers, body: raw.raw },
      { secrets: security.secrets, windowSeconds: security.windowSeconds },
    );
    if (testHooks.recordCallers) {
      received.push({ sequence, verified });
      if (received.length > recordedRequestLimit) received.shift();
    }
    // The request's span continues the gateway's trace only when the signature vouches for it; else it starts a trace.
    const traced = { parent: signedTraceParent(verified.ok ? verified.trace : undefined), startTime: arrived, attributes: { [traceAttributes.subgraph]: definition.name, [traceAttributes.region]: definition.region } };
    return inHttpServerSpan(req, res, traced, () => serve(req, res, url, verified, raw.raw));
  };

  /** A request whose signature was checked: refused, or run in its request scope. */
  const serve = async (req: IncomingMessage, res: Parameters<typeof writeJson>[0], url: URL, verified: VerifyResult, body: Buffer) => {
    if (!verified.ok) {
      log.warn({ reason: verified.reason }, 'refused an unsigned or forged request');
      return writeGraphQLError(res, ErrorCode.GATEWAY_SIGNATURE_REFUSED, `Refused: ${verified.reason}.`);
    }
    // A request replayed within the window (a captured mutation, say) runs once only.
    if (!(await nonces.claim(verified.nonce, security.windowSeconds * 1_000))) {
      log.warn('refused a replayed request');
      return writeGraphQLError(res, ErrorCode.GATEWAY_SIGNATURE_REFUSED, 'Refused: this signed request was received before.');
    }
    const { caller } = verified;
    if (definition.scope === 'regional' && caller.tenantId !== undefined && caller.region !== definition.region) {
      log.warn({ tenant: caller.tenantId, tenantRegion: caller.region ?? null }, 'refused a request for a tenant of another region');
      return writeGraphQLError(res, ErrorCode.RESIDENCY_VIOLATION, `This ${definition.name} instance serves region "${definition.region}" only; the tenant's data lives elsewhere.`);
    }
    const parsed = parseRequestBody(req, body);
    if (!parsed.ok) return writeGraphQLError(res, parsed.code, parsed.message);
    let response;
    try {
      response = await definition.requestScope(caller, (db) =>
        server.executeHTTPGraphQLRequest({ httpGraphQLRequest: httpGraphQLRequest(req, url, parsed.parsed), context: async () => definition.context(caller, db) }),
      );
    } catch (error) {
      // The request's transaction failed to open or to commit: nothing it wrote stands, and its answer cannot be sent.
      const code = isCapacityFailure(error) || isConnectionFailure(error) ? ErrorCode.DATABASE_UNAVAILABLE : ErrorCode.INTERNAL_SERVER_ERROR;
      log.error({ error: describeError(error), code }, 'request scope failed');
      return writeGraphQLError(res, code, 'The request could not be completed and nothing was written; retry shortly.');
    }
    await writeApolloResponse(res, response);
  };

  const http = await startHttpServer({
    host,
    port,
    routes: {
      '/graphql': graphql,
      '/healthz': async (_req, res) => writeJson(res, 200, { status: 'ok', subgraph: definition.name, region: definition.region }),
      ...(definition.metrics ? { '/metrics': metricsRoute(definition.metrics) } : {}),
    },
  });
  return {
    name: definition.name,
    region: definition.region,
    url: `${http.url}/graphql`,
    requestCount: () => requests,
    receivedCallers() {
      if (!testHooks.recordCallers) throw new Error(`${definition.name} in ${definition.region} records no callers: start it with the recordCallers test hook`);
      return [...received];
    },
    async stop(drainMs) {
      definition.onStop?.();
      await http.stop(drainMs);
      await server.stop();
      await nonces.close();
    },
  };
}

function metricsRoute(registry: Registry) {
  return async (_req: IncomingMessage, res: Parameters<typeof writeJson>[0]) => {
    const text = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType });
    res.end(text);
  };
}

/** Defence in depth behind the gateway's own check: a NUL in a string would fail in PostgreSQL, not as the caller's error. */
function nulGuardPlugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request }) {
          const refused = nulCharacterError(document, request.variables);
          if (refused) throw refused;
        },
      };
    },
  };
}

/** Reads the session from the request's own transaction, before it commits (the plugin runs inside it). */
function sessionReportPlugin<TContext extends BaseContext & { db: Database }>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          if (response.body.kind !== 'single') return;
          const [row] = await rowsOf<{ role: string; tenant: string; port: number | null; in_recovery: boolean }>(
            contextValue.db,
            sql`select current_user as role, coalesce(current_setting(${tenantSetting}, true), '') as tenant, inet_server_port() as port, pg_is_in_recovery() as in_recovery`,
          );
          response.body.singleResult.extensions = {
            ...response.body.singleResult.extensions,
            geofedSession: { role: row!.role, tenant: row!.tenant, serverPort: row!.port, inRecovery: row!.in_recovery },
          };
        },
      };
    },
  };
}

/**
 * Errors without a code of ours are bugs or driver errors: their message may
 * hold SQL and its parameters, so neither the answer nor the log carries it
 * (the log gets the error's class, code and hashes).
 */
function maskInternalError(formatted: GraphQLFormattedError, error: unknown, log: typeof logger): GraphQLFormattedError {
  if (formatted.extensions?.code !== ErrorCode.INTERNAL_SERVER_ERROR) return formatted;
  const cause = unwrapResolverError(error);
  // A database out of connections, or gone, is the region's state, not a bug: a coded 503 the client may retry.
  if (isCapacityFailure(cause) || isConnectionFailure(cause)) {
    log.error({ error: describeError(cause), path: formatted.path ?? null, code: ErrorCode.DATABASE_UNAVAILABLE }, 'database unavailable');
    return { message: 'The database of this service cannot take the request right now; retry shortly.', extensions: { code: ErrorCode.DATABASE_UNAVAILABLE }, ...(formatted.path ? { path: formatted.path } : {}) };
  }
  log.error({ error: describeError(cause), path: formatted.path ?? null }, 'resolver failed');
  return { message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR }, ...(formatted.path ? { path: formatted.path } : {}) };
}

/** A subgraph whose context type is its own business: runners only pass contexts through. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySubgraphDefinition = SubgraphDefinition<any>;

