import { GraphQLError } from 'graphql';
import { HeaderMap } from '@apollo/server';

/** The error codes of DESIGN.md, with the HTTP status each one answers with. */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  RESIDENCY_VIOLATION: 'RESIDENCY_VIOLATION',
  REGION_UNAVAILABLE: 'REGION_UNAVAILABLE',
  DIRECTORY_UNAVAILABLE: 'DIRECTORY_UNAVAILABLE',
  SUBGRAPH_UNAVAILABLE: 'SUBGRAPH_UNAVAILABLE',
  PRIMARY_UNAVAILABLE: 'PRIMARY_UNAVAILABLE',
  COST_ESTIMATED_TOO_EXPENSIVE: 'COST_ESTIMATED_TOO_EXPENSIVE',
  RATE_LIMITED: 'RATE_LIMITED',
  RATE_LIMIT_UNAVAILABLE: 'RATE_LIMIT_UNAVAILABLE',
  PERSISTED_QUERY_NOT_IN_LIST: 'PERSISTED_QUERY_NOT_IN_LIST',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  BAD_REQUEST: 'BAD_REQUEST',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const statusOfCode: Readonly<Record<string, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RESIDENCY_VIOLATION: 403,
  REGION_UNAVAILABLE: 503,
  DIRECTORY_UNAVAILABLE: 503,
  SUBGRAPH_UNAVAILABLE: 503,
  PRIMARY_UNAVAILABLE: 503,
  COST_ESTIMATED_TOO_EXPENSIVE: 400,
  RATE_LIMITED: 429,
  RATE_LIMIT_UNAVAILABLE: 503,
  PERSISTED_QUERY_NOT_IN_LIST: 400,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  BAD_USER_INPUT: 400,
  INTERNAL_SERVER_ERROR: 500,
};

/**
 * Builds a `GraphQLError` that Apollo Server answers with the code's status:
 * the status travels in `extensions.http` (a `HeaderMap`, as Apollo requires).
 * For errors the gateway raises before or around execution.
 */
export function geofedError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}, headers: Readonly<Record<string, string>> = {}): GraphQLError {
  return new GraphQLError(message, {
    extensions: { ...extensions, code, http: { status: statusOfCode[code] ?? 500, headers: new HeaderMap(Object.entries(headers)) } },
  });
}

/**
 * The same error as raised by a subgraph resolver: code only. A subgraph
 * answers 200 with its errors so the gateway can merge them; the gateway then
 * sets the status from the first error's code.
 */
export function resolverError(code: ErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}
