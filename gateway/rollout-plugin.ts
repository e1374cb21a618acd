import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../protocol/errors.js';
import type { GeofedConfig } from './config.js';
import type { GatewayContext } from './request-context.js';
import type { Variant } from './variants.js';

/** What one request of a tenant told about the version of a subgraph that served it. */
export interface RolloutSample {
  /** The tenant's home region. */
  readonly region: string;
  readonly subgraph: string;
  /** The version of the subgraph in the variant that served it. */
  readonly label: string;
  readonly ms: number;
  readonly failed: boolean;
}

export interface RolloutRecorder {
  record(sample: RolloutSample): void;
}

/**
 * Refusals of the caller's request that say nothing of a version: such a request is not counted at all. Any
 * other error counts as a failure of the side that served it, GRAPHQL_VALIDATION_FAILED included: a version
 * that drops a field its clients use is a regression.
 */
const callersOwn = new Set<string>([
  ErrorCode.UNAUTHENTICATED,
  ErrorCode.FORBIDDEN,
  ErrorCode.RESIDENCY_VIOLATION,
  ErrorCode.RATE_LIMITED,
  ErrorCode.COST_ESTIMATED_TOO_EXPENSIVE,
  ErrorCode.PERSISTED_QUERY_NOT_FOUND,
  ErrorCode.PERSISTED_QUERY_NOT_IN_LIST,
  ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
  ErrorCode.GRAPHQL_PARSE_FAILED,
  ErrorCode.BAD_REQUEST,
  ErrorCode.BAD_USER_INPUT,
  ErrorCode.OPERATION_RESOLUTION_FAILURE,
]);

const codeOf = (error: GraphQLFormattedError) => error.extensions?.code;

/**
 * Counts each signed-in tenant's request for every rollout with a canary in its home region: which version of
 * the subgraph served it, how long it took and whether it failed (rollout-runtime.ts adds the counts to the
 * region's, for the guard). Anonymous requests are never on a canary and are not counted.
 */
export function rolloutCountsPlugin(config: GeofedConfig, variant: Variant, recorder: RolloutRecorder): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart({ contextValue }) {
      const region = contextValue.caller?.region;
      const canaries = Object.entries(config.rollout.regions[region ?? ''] ?? {}).filter(([, entry]) => entry.canary !== undefined);
      if (region === undefined || canaries.length === 0) return;
      const started = performance.now();
      return {
        async willSendResponse({ response }) {
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          if (errors.some((error) => callersOwn.has(String(codeOf(error))))) return;
          const ms = performance.now() - started;
          for (const [subgraph] of canaries) recorder.record({ region, subgraph, label: variant.versions[subgraph]!, ms, failed: errors.length > 0 });
        },
      };
    },
  };
}
