import { z } from 'zod';
import { internalHeaderPrefix } from '../protocol/headers.js';

/**
 * Headers that belong to one hop, or that the gateway writes itself: a
 * client's copy is never passed on.
 */
const neverForwarded = new Set(['connection', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'content-type', 'content-encoding', 'accept-encoding', 'expect']);

/**
 * A client header name the operator lets through to the subgraphs
 * (`headers.forward`), lower-cased. `x-geofed-*` carry the gateway's signed
 * context: a client's copy would be a forgery, so no config can forward one.
 */
export const forwardedHeaderName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP header name')
  .transform((name) => name.toLowerCase())
  .refine((name) => !name.startsWith(internalHeaderPrefix), `${internalHeaderPrefix}* headers carry the gateway's signed context and are never forwarded from a client`)
  .refine((name) => !neverForwarded.has(name), 'a header of the connection or the body, which the gateway writes itself');

/** The allowed headers the client sent, as they go to every subgraph fetch of its operation. */
export function forwardedHeaders(allowed: readonly string[], incoming: { get(name: string): string | null | undefined } | undefined): [string, string][] {
  if (!incoming) return [];
  return allowed.flatMap((name) => {
    const value = incoming.get(name);
    return value === null || value === undefined ? [] : [[name, value] as [string, string]];
  });
}
