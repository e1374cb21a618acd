import { STATUS_CODES } from 'node:http';
import type { Fetcher, FetcherResponse } from '@apollo/utils.fetcher';
import { Agent, request } from 'undici';
import { keepAliveTimeoutMs } from './keep-alive.js';

export interface SubgraphFetcherOptions {
  /** The whole exchange (connect, headers, body) must finish within this time. */
  readonly timeoutMs: number;
  /** @default 128 */
  readonly connectionsPerOrigin?: number;
}

/**
 * The gateway's HTTP client for subgraphs: undici's pooled keep-alive
 * connections and a hard deadline per fetch. Shaped as Apollo's `Fetcher` so
 * RemoteGraphQLDataSource keeps its own protocol handling.
 */
export function subgraphFetcher({ timeoutMs, connectionsPerOrigin = 128 }: SubgraphFetcherOptions): { fetcher: Fetcher; close(): Promise<void> } {
  const agent = new Agent({ connections: connectionsPerOrigin, keepAliveTimeout: keepAliveTimeoutMs, connectTimeout: timeoutMs });
  const fetcher: Fetcher = async (url, init = {}) => {
    const response = await request(url, {
      method: (init.method ?? 'GET') as 'GET' | 'POST',
      headers: init.headers as Record<string, string> | undefined,
      body: init.body as string | undefined,
      dispatcher: agent,
      // The client going away (the data source passes its signal) cancels the fetch as the deadline does.
      signal: init.signal ? AbortSignal.any([init.signal as AbortSignal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
    });
    const text = await response.body.text();
    return textResponse(url, response.statusCode, response.headers, text);
  };
  return { fetcher, close: () => agent.close() };
}

function textResponse(url: string, status: number, rawHeaders: Record<string, string | string[] | undefined>, text: string): FetcherResponse {
  const headers = new Headers();
  for (const [name, value] of Object.entries(rawHeaders)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const response: FetcherResponse = {
    ok: status >= 200 && status < 300,
    status,
    statusText: STATUS_CODES[status] ?? '',
    url,
    redirected: false,
    bodyUsed: true,
    headers,
    text: async () => text,
    json: async () => JSON.parse(text) as unknown,
    arrayBuffer: async () => new TextEncoder().encode(text).buffer as ArrayBuffer,
    clone: () => textResponse(url, status, rawHeaders, text),
  };
  return response;
}
