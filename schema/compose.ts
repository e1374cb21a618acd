import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import type { GeofedConfig } from '../gateway/config.js';

export type CompositionResult =
  | { readonly ok: true; readonly supergraphSdl: string }
  | { readonly ok: false; readonly errors: readonly string[] };

/**
 * Composes the subgraph SDL files of the config into a supergraph. The routing
 * URL written into the supergraph is the subgraph's URL in the first region of
 * the file: geofed's data source picks the real URL per request, and a fixed
 * choice keeps the committed supergraph independent of environment overrides.
 */
export function composeSupergraph(config: GeofedConfig, readSchema = (path: string) => readFileSync(path, 'utf8')): CompositionResult {
  const errors: string[] = [];
  const services = config.subgraphs.flatMap((subgraph) => {
    try {
      return [{ name: subgraph.name, url: subgraph.urls[config.regions[0]!]!, typeDefs: parse(readSchema(subgraph.schemaPath)) }];
    } catch (error) {
      errors.push(`${subgraph.name} (${subgraph.schemaPath}): ${(error as Error).message}`);
      return [];
    }
  });
  if (errors.length > 0) return { ok: false, errors };
  const result = composeServices(services);
  if (result.errors) {
    return { ok: false, errors: result.errors.map((error) => error.message) };
  }
  return { ok: true, supergraphSdl: withTrailingNewline(result.supergraphSdl) };
}

function withTrailingNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}
