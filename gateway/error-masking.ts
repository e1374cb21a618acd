import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../protocol/errors.js';
import { logger } from '../runtime/logger.js';

/**
 * Apollo's `formatError`: no error leaks a stack, SQL or a subgraph URL.
 * Internal errors are logged and answered generically; Apollo Gateway's
 * `extensions.response` (a subgraph's raw answer) is dropped from every error.
 */
export function maskInternals(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const { response: _response, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
  if (extensions.code === ErrorCode.INTERNAL_SERVER_ERROR) {
    logger.error({ err: error }, 'internal error');
    return { ...formatted, message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  }
  return { ...formatted, extensions };
}
