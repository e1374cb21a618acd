import type { Fetcher } from '@apollo/utils.fetcher';
import { callerFromHeaders, signedHeaders } from '../protocol/signed-context.js';

/**
 * Signs every gateway → subgraph request at the last moment, over the exact
 * body bytes Apollo is about to send and the context headers the data source
 * set (absent ones sign as empty: anonymous and system requests are signed too).
 */
export function signingFetcher(inner: Fetcher, secret: string): Fetcher {
  return (url, init = {}) => {
    const headers = { ...(init.headers as Record<string, string> | undefined) };
    const signed = signedHeaders(secret, { method: init.method ?? 'GET', url, body: (init.body as string | undefined) ?? '' }, callerFromHeaders(headers));
    return inner(url, { ...init, headers: { ...headers, ...signed } });
  };
}
