import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLRequest, type HTTPGraphQLResponse } from '@apollo/server';
import { ErrorCode } from '../protocol/errors.js';
import { writeGraphQLError, type RouteHandler } from './http-server.js';
import { inSpan } from './tracing.js';

export interface ApolloRouteOptions<TContext extends BaseContext> {
  readonly maxBodyBytes: number;
  /** Builds the request's context; a `GraphQLError` it throws is answered with its `extensions.http` status. */
  readonly context: (req: IncomingMessage) => Promise<TContext>;
}

/** Serves one ApolloServer on a route: GET and POST, JSON bodies, GraphQL-shaped errors for bad bodies. */
export function apolloRoute<TContext extends BaseContext>(server: ApolloServer<TContext>, options: ApolloRouteOptions<TContext>): RouteHandler {
  return async (req, res, url) => {
    const body = await readRequestBody(req, options.maxBodyBytes);
    if (!body.ok) {
      writeBodyError(res, body);
      return;
    }
    await executeApolloRequest(server, req, res, url, body.parsed, () => options.context(req));
  };
}

/**
 * Runs a request whose body was read already through Apollo Server and writes its answer, in the span
 * `geofed.operation` (plugins/tracing.ts names it): Apollo's own spans and the plugins' hang under it.
 */
export async function executeApolloRequest<TContext extends BaseContext>(server: ApolloServer<TContext>, req: IncomingMessage, res: ServerResponse, url: URL, body: unknown, context: () => Promise<TContext>): Promise<void> {
  const response = await inSpan('geofed.operation', {}, () => server.executeHTTPGraphQLRequest({ httpGraphQLRequest: httpGraphQLRequest(req, url, body), context }));
  await writeApolloResponse(res, response);
}

export function httpGraphQLRequest(req: IncomingMessage, url: URL, body: unknown): HTTPGraphQLRequest {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return { method: req.method ?? 'GET', headers, search: url.search, body };
}

export async function writeApolloResponse(res: ServerResponse, response: HTTPGraphQLResponse): Promise<void> {
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.statusCode = response.status ?? 200;
  // Not Modified carries the validators and no body.
  if (res.statusCode === 304) {
    res.end();
    return;
  }
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

/**
 * Answers a body refused before it was read whole. After an oversized body the connection
 * is closed: the rest of the body is never read, and a next request on the
 * same keep-alive connection would wait behind it unanswered.
 */
export function writeBodyError(res: ServerResponse, error: BodyError): void {
  if (error.code === ErrorCode.PAYLOAD_TOO_LARGE) res.setHeader('connection', 'close');
  writeGraphQLError(res, error.code, error.message);
}

export type BodyError = { ok: false; code: typeof ErrorCode.BAD_REQUEST | typeof ErrorCode.PAYLOAD_TOO_LARGE; message: string };
export type RawBody = { ok: true; raw: Buffer } | BodyError;
export type RequestBody = { ok: true; raw: Buffer; parsed: unknown } | BodyError;

/** Reads a POST body up to `maxBytes` as bytes, parsing nothing (a subgraph verifies the signature first); an oversized one is a 413. */
export async function readRawBody(req: IncomingMessage, maxBytes: number): Promise<RawBody> {
  if (req.method !== 'POST') return { ok: true, raw: Buffer.alloc(0) };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      return { ok: false, code: ErrorCode.PAYLOAD_TOO_LARGE, message: `request body is larger than ${maxBytes} bytes` };
    }
    chunks.push(chunk);
  }
  return { ok: true, raw: Buffer.concat(chunks) };
}

/** Reads a POST body up to `maxBytes`; JSON bodies are parsed, a malformed one is a 400, an oversized one a 413. */
export async function readRequestBody(req: IncomingMessage, maxBytes: number): Promise<RequestBody> {
  const body = await readRawBody(req, maxBytes);
  return body.ok ? parseRequestBody(req, body.raw) : body;
}

/** The body as Apollo reads it: JSON when the content type says so (a malformed one is a 400), else the text. */
export function parseRequestBody(req: IncomingMessage, raw: Buffer): RequestBody {
  if (req.method !== 'POST') return { ok: true, raw, parsed: undefined };
  const text = raw.toString('utf8');
  const contentType = req.headers['content-type'] ?? '';
  if (!/^application\/(graphql-response\+)?json\b/i.test(contentType)) {
    // Apollo's CSRF prevention and body checks decide what a non-JSON POST gets.
    return { ok: true, raw, parsed: text.length > 0 ? text : undefined };
  }
  try {
    return { ok: true, raw, parsed: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, code: ErrorCode.BAD_REQUEST, message: `request body is not valid JSON: ${(error as Error).message}` };
  }
}
