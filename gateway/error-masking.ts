import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../protocol/errors.js';
import { describeError } from '../runtime/error-report.js';
import { logger } from '../runtime/logger.js';

export interface ErrorMaskingOptions {
  /** Production: no "Did you mean …?" anywhere, variable coercion errors included (they name the schema's fields). */
  readonly hideSchemaDetails: boolean;
  /** Keep Apollo Gateway's `extensions.serviceName` (the internal subgraph's name) on subgraph errors. */
  readonly exposeServiceNames: boolean;
}

/** graphql-js's suggestion, e.g. ` Did you mean "productId"?` or `Did you mean the enum value "EU"?`. */
const suggestion = /\s*Did you mean [^?]*\?/g;

/**
 * Apollo's `formatError`: no error leaks a stack, SQL, a subgraph URL or the
 * schema. Internal errors are logged (class, code and hashes, never their
 * message: it may hold client values) and answered generically; an error
 * Apollo raised without a code but with a 4xx status (a persisted-query
 * version or hash it refuses) is the client's: BAD_REQUEST, not an internal
 * error. Apollo Gateway's `extensions.response` (a subgraph's raw answer) and,
 * unless allowed, `serviceName` are dropped.
 */
export function errorMasking({ hideSchemaDetails, exposeServiceNames }: ErrorMaskingOptions) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const { response: _response, serviceName, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
    const message = hideSchemaDetails ? formatted.message.replace(suggestion, '') : formatted.message;
    const original = unwrapResolverError(error);
    if (extensions.code === ErrorCode.INTERNAL_SERVER_ERROR) {
      if (isClientError(original)) return { ...formatted, message, extensions: { ...extensions, code: ErrorCode.BAD_REQUEST } };
      logger.error({ error: describeError(original) }, 'internal error');
      return { ...formatted, message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
    }
    return { ...formatted, message, extensions: { ...extensions, ...(exposeServiceNames && serviceName !== undefined ? { serviceName } : {}) } };
  };
}

function isClientError(error: unknown): boolean {
  const status = error instanceof GraphQLError ? (error.extensions.http as { status?: unknown } | undefined)?.status : undefined;
  return typeof status === 'number' && status >= 400 && status < 500;
}
