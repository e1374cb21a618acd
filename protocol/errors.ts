import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';

/**
 * Every error code geofed answers with, and its HTTP status: the codes of
 * Apollo Server and the project's own. A response whose `data` is null or
 * absent gets the status of its first error's code.
 */
const statuses = {
  UNAUTHENTICATED: 401,
  // A subgraph's or home gateway's refusal of a gateway's signature (missing, forged, out of its window, replayed).
  GATEWAY_SIGNATURE_REFUSED: 401,
  FORBIDDEN: 403,
  RESIDENCY_VIOLATION: 403,
  CORS_ORIGIN_REFUSED: 403,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  REGION_UNAVAILABLE: 503,
  DIRECTORY_UNAVAILABLE: 503,
  SUBGRAPH_UNAVAILABLE: 503,
  SUBGRAPH_OVERLOADED: 503,
  // What a client sees of a GATEWAY_SIGNATURE_REFUSED: the deployment is misconfigured, not the client's request.
  SUBGRAPH_REJECTED_GATEWAY: 503,
  // The gateway listens before its first supergraph is loaded (a subgraph to introspect is not up yet).
  GATEWAY_NOT_READY: 503,
  REGION_REJECTED_GATEWAY: 503,
  PRIMARY_UNAVAILABLE: 503,
  DATABASE_UNAVAILABLE: 503,
  RATE_LIMIT_UNAVAILABLE: 503,
  // A rollout command the gateway could not write: the shared rollout store does not answer.
  ROLLOUT_STORE_UNAVAILABLE: 503,
  COST_ESTIMATED_TOO_EXPENSIVE: 400,
  PERSISTED_QUERY_NOT_IN_LIST: 400,
  // Apollo's protocol: the client answers a miss by sending the query, so it is not an HTTP error.
  PERSISTED_QUERY_NOT_FOUND: 200,
  PERSISTED_QUERY_NOT_SUPPORTED: 400,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  OPERATION_RESOLUTION_FAILURE: 400,
  BAD_REQUEST: 400,
  BAD_USER_INPUT: 400,
  INTERNAL_SERVER_ERROR: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof statuses;

/** The registry by code; `ErrorCode` is the set of its keys, so a code is added by adding its status above. */
export const statusOfCode: Readonly<Record<ErrorCode, number>> = statuses;

/** The codes by name, so code never spells one as a raw string. */
export const ErrorCode = Object.fromEntries(Object.keys(statuses).map((code) => [code, code])) as { readonly [Code in ErrorCode]: Code };

/** The status of a code a peer sent, or undefined for a code outside the registry. */
export function statusOf(code: unknown): number | undefined {
  return typeof code === 'string' && Object.hasOwn(statusOfCode, code) ? statusOfCode[code as ErrorCode] : undefined;
}

/**
 * A `GraphQLError` that Apollo Server answers with the code's status: the
 * status travels in `extensions.http` (a `HeaderMap`, as Apollo requires).
 * For errors raised before or around execution.
 */
export function geofedError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}, headers: Readonly<Record<string, string>> = {}): GraphQLError {
  return new GraphQLError(message, {
    extensions: { ...extensions, code, http: { status: statusOfCode[code], headers: new HeaderMap(Object.entries(headers)) } },
  });
}

/**
 * The same error as a subgraph resolver raises it: code only. A subgraph
 * answers 200 with its errors so the gateway can merge them; the gateway sets
 * the status from the code.
 */
export function resolverError(code: ErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}
