import { readFileSync } from 'node:fs';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { parse, type GraphQLFormattedError } from 'graphql';
import { apolloRoute, startHttpServer, writeJson } from '../../gateway/http-server.js';
import { logger } from '../../gateway/logger.js';
import { callerFromRequest, type SubgraphCaller } from './caller.js';

export interface SubgraphDefinition<TContext extends BaseContext> {
  readonly name: string;
  readonly region: string;
  readonly schemaPath: string;
  readonly resolvers: GraphQLResolverMap<TContext>;
  /** Builds the per-request context (loaders are per request, so batches never mix callers). */
  readonly context: (caller: SubgraphCaller) => TContext;
}

export interface RunningSubgraph {
  readonly name: string;
  readonly region: string;
  /** The GraphQL endpoint, for supergraph.yaml or a test's config. */
  readonly url: string;
  /** GraphQL requests this instance has received: tests read it to see where fetches went. */
  requestCount(): number;
  stop(): Promise<void>;
}

export interface SubgraphListenOptions {
  readonly host?: string;
  readonly port?: number;
}

export async function startSubgraph<TContext extends BaseContext>(
  definition: SubgraphDefinition<TContext>,
  { host = '127.0.0.1', port = 0 }: SubgraphListenOptions = {},
): Promise<RunningSubgraph> {
  const log = logger.child({ subgraph: definition.name, region: definition.region });
  const server = new ApolloServer<TContext>({
    schema: buildSubgraphSchema({ typeDefs: parse(readFileSync(definition.schemaPath, 'utf8')), resolvers: definition.resolvers as GraphQLResolverMap<unknown> }),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours: the process drains HTTP first, then stops Apollo (see gateway/process.ts).
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => maskInternalError(formatted, error, log),
  });
  await server.start();
  let requests = 0;
  const graphql = apolloRoute(server, { maxBodyBytes: 4 * 1_048_576, context: async (req) => definition.context(callerFromRequest(req)) });
  const http = await startHttpServer({
    host,
    port,
    routes: {
      '/graphql': (req, res, url) => {
        requests += 1;
        return graphql(req, res, url);
      },
      '/healthz': async (_req, res) => writeJson(res, 200, { status: 'ok', subgraph: definition.name, region: definition.region }),
    },
  });
  return {
    name: definition.name,
    region: definition.region,
    url: `${http.url}/graphql`,
    requestCount: () => requests,
    async stop() {
      await http.stop();
      await server.stop();
    },
  };
}

/** Errors without a code of ours are bugs or driver errors: their message may hold SQL, so it stays in the log. */
function maskInternalError(formatted: GraphQLFormattedError, error: unknown, log: typeof logger): GraphQLFormattedError {
  if (formatted.extensions?.code !== 'INTERNAL_SERVER_ERROR') return formatted;
  log.error({ err: error }, 'resolver failed');
  return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' }, ...(formatted.path ? { path: formatted.path } : {}) };
}

/** A subgraph whose context type is its own business: runners only pass contexts through. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySubgraphDefinition = SubgraphDefinition<any>;
