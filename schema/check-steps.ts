// The steps of `schema:check` that run on one supergraph: the base one (check.ts) and each variant of the
// subgraphs' versions a region runs (check-variants.ts).
import { existsSync } from 'node:fs';
import type { GraphQLSchema } from 'graphql';
import type { GeofedConfig } from '../gateway/config.js';
import { loadManifest } from '../plugins/persisted-queries/manifest.js';
import { apiSchemaOf, diffApiSchemas, gitBaseSupergraph, readBaseFile, type BaseSupergraph, type SchemaChange } from './check-diff.js';
import { operationsLint } from './check-lints.js';

export type StepName = 'composition' | 'staleness' | 'breaking-changes' | 'residency' | 'events' | 'operations' | 'cost';

export interface CheckStep {
  readonly name: StepName;
  readonly ok: boolean;
  /** Set when the step did not run; `notes` says why. */
  readonly skipped?: boolean;
  readonly errors: string[];
  readonly warnings: string[];
  readonly notes: string[];
  readonly [detail: string]: unknown;
}

/** Where the breaking-change diff finds its base, and whether breaking changes fail. */
export interface DiffOptions {
  /** A supergraph SDL file to diff against. */
  readonly base?: string;
  /** A supergraph SDL to diff against (wins over `base`); `null` skips the diff. */
  readonly baseSdl?: string | null;
  readonly allowBreaking?: boolean;
}

export function step(name: StepName, parts: { errors?: string[]; warnings?: string[]; notes?: string[] } & Record<string, unknown>): CheckStep {
  const { errors = [], warnings = [], notes = [], ...details } = parts;
  return { name, ok: errors.length === 0, errors, warnings, notes, ...details };
}

export function skipped(name: StepName, why: string): CheckStep {
  return { name, ok: true, skipped: true, errors: [], warnings: [], notes: [why] };
}

export async function breakingChanges(config: GeofedConfig, apiSchema: GraphQLSchema, options: DiffOptions) {
  const none = { breaking: [] as SchemaChange[], dangerous: [] as SchemaChange[] };
  let base: BaseSupergraph;
  try {
    base =
      options.baseSdl === null ? { note: 'no base given' }
      : options.baseSdl !== undefined ? { sdl: options.baseSdl, source: 'the given base SDL' }
      : options.base !== undefined ? readBaseFile(options.base)
      : config.supergraphPath !== undefined ? gitBaseSupergraph(config.supergraphPath)
      : { note: 'no supergraph file configured to find a base of' };
  } catch (error) {
    return { ...none, step: step('breaking-changes', { errors: [`cannot read the base supergraph: ${(error as Error).message}`] }) };
  }
  if (base.sdl === undefined) return { ...none, step: skipped('breaking-changes', base.note) };
  let baseSchema: GraphQLSchema;
  try {
    baseSchema = apiSchemaOf(base.sdl);
  } catch (error) {
    return { ...none, step: step('breaking-changes', { base: base.source, errors: [`the base supergraph (${base.source}) is not a valid supergraph: ${(error as Error).message}`] }) };
  }
  const changes = await diffApiSchemas(baseSchema, apiSchema);
  const breakingMessages = changes.breaking.map((c) => `breaking: ${c.message}`);
  return {
    breaking: changes.breaking,
    dangerous: changes.dangerous,
    step: step('breaking-changes', {
      base: base.source,
      errors: options.allowBreaking ? [] : breakingMessages,
      warnings: [...(options.allowBreaking ? breakingMessages.map((m) => `${m} (allowed)`) : []), ...changes.dangerous.map((c) => `dangerous: ${c.message}`)],
      notes: [`against ${base.source}: ${changes.breaking.length} breaking, ${changes.dangerous.length} dangerous, ${changes.safe.length} safe changes`],
    }),
  };
}

export function operations(config: GeofedConfig, apiSchema: GraphQLSchema, given: string | null | undefined): CheckStep {
  const path = given === null ? undefined : given ?? config.persistedQueries.manifestPath;
  if (path === undefined) return skipped('operations', 'no persisted-query manifest configured');
  if (!existsSync(path)) return { ...skipped('operations', `no persisted-query manifest at ${path}`), warnings: [`the persisted-query manifest ${path} does not exist`] };
  try {
    const manifest = loadManifest(path);
    const result = operationsLint(manifest, apiSchema);
    return step('operations', { manifest: path, errors: result.errors, notes: [`${manifest.operations.length} operations of ${path} checked`] });
  } catch (error) {
    return step('operations', { manifest: path, errors: [(error as Error).message] });
  }
}

