import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { request } from 'undici';
import { ConfigError, type GeofedConfig, type SubgraphConfig } from './config.js';

export type CompositionResult =
  | { readonly ok: true; readonly supergraphSdl: string }
  /** `sources`: a subgraph's SDL could not be read or fetched; `composition`: it was read, and does not parse or compose. */
  | { readonly ok: false; readonly stage: 'sources' | 'composition'; readonly errors: readonly string[] };

export interface ComposeOptions {
  /** Reads a subgraph SDL file (tests change subgraphs in memory). */
  readonly readFile?: (path: string) => string;
  /** Fetches the SDL of a subgraph declared by `schema.subgraph_url` (the gateway signs it). @default an unsigned `_service { sdl }` query */
  readonly introspect?: (url: string) => Promise<string>;
}

/** How long an introspection of a running subgraph may take. */
const introspectionTimeoutMs = 5_000;

/**
 * Composes the subgraphs of the config into a supergraph, as `rover supergraph
 * compose` does with the same file: SDL from `schema.file` or from the running
 * subgraph at `schema.subgraph_url`, and each subgraph's `routing_url` written
 * into the supergraph. geofed's data source picks the real URL per request.
 */
export async function composeSupergraph(config: GeofedConfig, { readFile = (path) => readFileSync(path, 'utf8'), introspect = introspectSdl }: ComposeOptions = {}): Promise<CompositionResult> {
  const errors: string[] = [];
  let unreadable = false;
  const services = await Promise.all(
    config.subgraphs.map(async (subgraph) => {
      try {
        let sdl;
        try {
          sdl = subgraph.schema.file !== undefined ? readFile(subgraph.schema.file) : await introspect(subgraph.schema.subgraphUrl);
        } catch (error) {
          unreadable = true;
          throw error;
        }
        return [{ name: subgraph.name, url: subgraph.routingUrl, typeDefs: parse(sdl) }];
      } catch (error) {
        errors.push(isFileSystemError(error) && subgraph.schema.file !== undefined ? unreadableSchemaFile(config, subgraph.name, subgraph.schema.file, error) : `${subgraph.name} (${sourceOf(subgraph)}): ${(error as Error).message}`);
        return [];
      }
    }),
  );
  if (errors.length > 0) return { ok: false, stage: unreadable ? 'sources' : 'composition', errors };
  const result = composeServices(services.flat());
  if (result.errors) {
    return { ok: false, stage: 'composition', errors: result.errors.map((error) => error.message) };
  }
  return { ok: true, supergraphSdl: withTrailingNewline(result.supergraphSdl) };
}

/**
 * Throws a ConfigError when a subgraph's `schema.file` cannot be read. The
 * gateway serves the composed supergraph, but watches these files and
 * recomposes from them on every reload: a wrong path is a mistake to report
 * at start, not at the first edit.
 */
export function assertSchemaFilesReadable(config: GeofedConfig): void {
  const problems = config.subgraphs.flatMap(({ name, schema }) => {
    if (schema.file === undefined) return [];
    try {
      readFileSync(schema.file);
      return [];
    } catch (error) {
      if (!isFileSystemError(error)) throw error;
      return [`  ${unreadableSchemaFile(config, name, schema.file, error)}`];
    }
  });
  if (problems.length > 0) throw new ConfigError(`${config.file} is not valid:\n${problems.join('\n')}`);
}

/** The key, the path, and what to do about it. */
function unreadableSchemaFile(config: GeofedConfig, name: string, file: string, error: NodeJS.ErrnoException): string {
  const key = `subgraphs.${name}.schema.file`;
  if (error.code === 'ENOENT') {
    return `${key}: there is no file ${file} (a relative path is read from the folder of ${config.file}): correct the path, or set schema.subgraph_url instead to introspect the running subgraph`;
  }
  return `${key}: cannot read ${file}: ${error.message}`;
}

function isFileSystemError(error: unknown): error is NodeJS.ErrnoException {
  return typeof (error as NodeJS.ErrnoException | undefined)?.syscall === 'string';
}

function sourceOf(subgraph: SubgraphConfig): string {
  return subgraph.schema.file ?? subgraph.schema.subgraphUrl;
}

/** The SDL a running subgraph reports through Federation's `_service { sdl }`. */
export async function introspectSdl(url: string): Promise<string> {
  const body = JSON.stringify({ query: '{ _service { sdl } }' });
  const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(introspectionTimeoutMs) });
  const answer = (await response.body.json()) as { data?: { _service?: { sdl?: unknown } } };
  const sdl = answer.data?._service?.sdl;
  if (typeof sdl !== 'string') throw new Error(`HTTP ${response.statusCode}: no _service.sdl in the answer`);
  return sdl;
}

function withTrailingNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}
