import { request, type Dispatcher } from 'undici';
import { signedHeaders, systemCaller, type SignedCaller, type TraceContext } from './signed-context.js';

export interface SignedPostOptions {
  readonly secret: string;
  /** Anonymous when omitted: system calls (directory lookups, probes) carry no tenant. */
  readonly caller?: SignedCaller;
  readonly timeoutMs: number;
  readonly dispatcher?: Dispatcher;
  /** The caller's trace context, signed with the rest (runtime/tracing.ts, activeTraceContext); none while tracing is off. */
  readonly trace?: TraceContext;
}

export interface GraphQLAnswer<TData> {
  readonly status: number;
  readonly body: { data?: TData | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

/**
 * A GraphQL POST that a geofed subgraph accepts, signed like the gateway's own
 * fetches: the gateway's directory lookups and readiness probes, and the
 * orders subgraph's price lookup in the catalog.
 */
export async function postSignedGraphQL<TData>(
  url: string,
  payload: { query: string; variables?: Record<string, unknown> },
  { secret, caller = systemCaller, timeoutMs, dispatcher, trace }: SignedPostOptions,
): Promise<GraphQLAnswer<TData>> {
  const body = JSON.stringify(payload);
  const response = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signedHeaders(secret, { method: 'POST', url, body, ...(trace ? { trace } : {}) }, caller) },
    body,
    signal: AbortSignal.timeout(timeoutMs),
    ...(dispatcher ? { dispatcher } : {}),
  });
  const text = await response.body.text();
  let parsed: GraphQLAnswer<TData>['body'];
  try {
    parsed = JSON.parse(text) as GraphQLAnswer<TData>['body'];
  } catch {
    parsed = { errors: [{ message: `not a GraphQL response (HTTP ${response.statusCode})` }] };
  }
  return { status: response.statusCode, body: parsed };
}
