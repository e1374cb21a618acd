import type { Fetcher } from '@apollo/utils.fetcher';
import { callerFromHeaders, signedHeaders } from '../protocol/signed-context.js';
import { activeTraceContext } from '../runtime/tracing.js';

/**
 * Signs every gateway → subgraph request at the last moment, over the exact
 * body bytes Apollo is about to send and the context headers the data source
 * set (absent ones sign as empty: anonymous and system requests are signed too).
 * While tracing is on, the trace context of the fetch's span (regional-data-source.ts)
 * travels inside the signature: the subgraph's spans continue it.
 */
export function signingFetcher(inner: Fetcher, secret: string): Fetcher {
  return (url, init = {}) => {
    const headers = { ...(init.headers as Record<string, string> | undefined) };
    const trace = activeTraceContext();
    const request = { method: init.method ?? 'GET', url, body: (init.body as string | undefined) ?? '', ...(trace ? { trace } : {}) };
    return inner(url, { ...init, headers: { ...headers, ...signedHeaders(secret, request, callerFromHeaders(headers)) } });
  };
}
