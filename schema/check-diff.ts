// The breaking-change step of `schema:check`: which supergraph to compare against, and the
// graphql-inspector diff of the two API schemas.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Supergraph } from '@apollo/federation-internals';
import { CriticalityLevel, diff } from '@graphql-inspector/core';
import type { GraphQLSchema } from 'graphql';

export interface SchemaChange {
  readonly type: string;
  readonly message: string;
  readonly path?: string;
}

export interface ChangeSet {
  readonly breaking: SchemaChange[];
  readonly dangerous: SchemaChange[];
  readonly safe: SchemaChange[];
}

/** The base to compare with: its SDL and where it came from, or why there is none. */
export type BaseSupergraph =
  | { readonly sdl: string; readonly source: string }
  | { readonly sdl?: undefined; readonly note: string };

/** The API schema clients see: the supergraph without federation internals and @inaccessible elements. */
export function apiSchemaOf(supergraphSdl: string): GraphQLSchema {
  return Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema();
}

export async function diffApiSchemas(oldSchema: GraphQLSchema, newSchema: GraphQLSchema): Promise<ChangeSet> {
  const changes = await diff(oldSchema, newSchema);
  const pick = (level: CriticalityLevel) =>
    changes
      .filter((change) => change.criticality.level === level)
      .map((change): SchemaChange => ({ type: change.type, message: change.message, ...(change.path ? { path: change.path } : {}) }));
  return { breaking: pick(CriticalityLevel.Breaking), dangerous: pick(CriticalityLevel.Dangerous), safe: pick(CriticalityLevel.NonBreaking) };
}

export function readBaseFile(file: string): BaseSupergraph {
  return { sdl: readFileSync(file, 'utf8'), source: file };
}

/**
 * The supergraph committed where this branch left the main branch (merge base with origin/main,
 * else main). On the main branch itself (the merge base is HEAD) or without a main branch, the
 * base is HEAD~1. Without git history, or without the file at that commit, there is no base.
 */
export function gitBaseSupergraph(supergraphPath: string): BaseSupergraph {
  const cwd = dirname(supergraphPath);
  const git = (...args: string[]): string | undefined => {
    try {
      return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 });
    } catch {
      return undefined;
    }
  };
  const head = git('rev-parse', '--verify', '-q', 'HEAD')?.trim();
  if (!head) return { note: 'no git history: the breaking-change diff is skipped (pass --base FILE)' };
  let rev: string | undefined;
  let label = '';
  for (const branch of ['origin/main', 'main']) {
    if (!git('rev-parse', '--verify', '-q', `${branch}^{commit}`)) continue;
    const mergeBase = git('merge-base', 'HEAD', branch)?.trim();
    if (mergeBase && mergeBase !== head) {
      rev = mergeBase;
      label = `merge base with ${branch}`;
    }
    break;
  }
  if (!rev) {
    rev = git('rev-parse', '--verify', '-q', 'HEAD~1^{commit}')?.trim();
    label = 'HEAD~1';
  }
  if (!rev) return { note: 'no earlier commit: the breaking-change diff is skipped (pass --base FILE)' };
  const sdl = git('show', `${rev}:./${basename(supergraphPath)}`);
  const where = `${basename(supergraphPath)} at ${rev.slice(0, 12)} (${label})`;
  if (sdl === undefined) return { note: `no ${where}: the breaking-change diff is skipped` };
  return { sdl, source: where };
}
