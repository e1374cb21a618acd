// Persisted-query lists in Apollo's `apollo-persisted-query-manifest` format: building one from
// .graphql operation files (manifest-command.ts) and loading and validating one (the gateway).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GraphQLError, Kind, parse, print, visit, type DefinitionNode, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { StartupError } from '../../runtime/process.js';

export type OperationType = 'query' | 'mutation' | 'subscription';

export interface ManifestOperation {
  /** sha256 (hex) of `body`: the hash an APQ-style client sends as `extensions.persistedQuery.sha256Hash`. */
  readonly id: string;
  readonly name: string;
  readonly type: OperationType;
  readonly body: string;
}

export interface PersistedQueryManifest {
  readonly format: 'apollo-persisted-query-manifest';
  readonly version: 1;
  readonly operations: readonly ManifestOperation[];
}

/** A manifest (or an operation file) that cannot be used; the message names the file and the fault. */
export class ManifestError extends StartupError {
  override readonly name = 'ManifestError';
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface OperationSource {
  /** Shown in errors; relative paths read best. */
  readonly file: string;
  readonly text: string;
}

/**
 * One entry per named operation across all files; its body is graphql's `print` of the operation
 * followed by every fragment it uses (transitively, from any file), ordered as Apollo's
 * `sortTopLevelDefinitions` orders them (operation first, fragments by name). No `__typename` is
 * added: the body is exactly what a client sends, so its sha256 is the hash the client computes.
 */
export function buildManifest(sources: readonly OperationSource[]): PersistedQueryManifest {
  const problems: string[] = [];
  const operations: { file: string; node: OperationDefinitionNode }[] = [];
  const fragments = new Map<string, { file: string; node: FragmentDefinitionNode }>();
  const operationFiles = new Map<string, string>();
  for (const { file, text } of sources) {
    let document: DocumentNode;
    try {
      document = parse(text);
    } catch (error) {
      problems.push(`${file}: ${error instanceof GraphQLError ? error.message : String(error)}`);
      continue;
    }
    for (const definition of document.definitions) {
      const where = `${file}:${definition.loc?.startToken.line ?? '?'}`;
      if (definition.kind === Kind.FRAGMENT_DEFINITION) {
        const name = definition.name.value;
        const seen = fragments.get(name);
        if (seen) problems.push(`${where}: fragment ${name} is also defined in ${seen.file}`);
        else fragments.set(name, { file, node: definition });
      } else if (definition.kind === Kind.OPERATION_DEFINITION) {
        const name = definition.name?.value;
        if (!name) problems.push(`${where}: an anonymous ${definition.operation}; every listed operation needs a name`);
        else if (operationFiles.has(name)) problems.push(`${where}: operation ${name} is also defined in ${operationFiles.get(name)}`);
        else {
          operationFiles.set(name, file);
          operations.push({ file, node: definition });
        }
      } else {
        problems.push(`${where}: a ${definition.kind} is not an operation or a fragment`);
      }
    }
  }
  const entries: ManifestOperation[] = [];
  for (const { file, node } of operations) {
    const used = usedFragments(node, fragments, (name) => problems.push(`${file}: operation ${node.name!.value} uses fragment ${name}, which no file defines`));
    const definitions: DefinitionNode[] = [node, ...[...used].sort().map((name) => fragments.get(name)!.node)];
    const body = print({ kind: Kind.DOCUMENT, definitions });
    entries.push({ id: sha256Hex(body), name: node.name!.value, type: node.operation as OperationType, body });
  }
  if (problems.length > 0) throw new ManifestError(`cannot build the persisted-query manifest:\n  ${problems.join('\n  ')}`);
  if (entries.length === 0) throw new ManifestError('cannot build the persisted-query manifest: no operation found');
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { format: 'apollo-persisted-query-manifest', version: 1, operations: entries };
}

function usedFragments(root: OperationDefinitionNode, fragments: ReadonlyMap<string, { node: FragmentDefinitionNode }>, onMissing: (name: string) => void): Set<string> {
  const used = new Set<string>();
  const pending: (OperationDefinitionNode | FragmentDefinitionNode)[] = [root];
  for (let node = pending.pop(); node; node = pending.pop()) {
    visit(node, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        if (used.has(name)) return;
        used.add(name);
        const fragment = fragments.get(name);
        if (fragment) pending.push(fragment.node);
        else onMissing(name);
      },
    });
  }
  return used;
}

/** Reads and validates a manifest; every fault is a `ManifestError` naming `path` and the entry. */
export function loadManifest(path: string): PersistedQueryManifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ManifestError(`persisted-query manifest ${path}: cannot be read (${(error as Error).message})`);
  }
  return parseManifest(text, path);
}

export function parseManifest(text: string, path: string): PersistedQueryManifest {
  const fail = (what: string): never => {
    throw new ManifestError(`persisted-query manifest ${path}: ${what}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail(`is not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(json)) return fail('must be a JSON object');
  if (json.format !== 'apollo-persisted-query-manifest') fail(`"format" must be "apollo-persisted-query-manifest", not ${JSON.stringify(json.format)}`);
  if (json.version !== 1) fail(`"version" must be 1, not ${JSON.stringify(json.version)}`);
  if (!Array.isArray(json.operations)) return fail('"operations" must be an array');
  const ids = new Map<string, number>();
  const operations = json.operations.map((entry: unknown, i): ManifestOperation => {
    const at = `operations[${i}]`;
    if (!isRecord(entry)) return fail(`${at} must be an object`);
    const { id, name, type, body } = entry;
    if (typeof body !== 'string' || body.trim() === '') return fail(`${at}.body must be a non-empty string`);
    if (typeof name !== 'string' || name === '') return fail(`${at}.name must be a non-empty string`);
    if (type !== 'query' && type !== 'mutation' && type !== 'subscription') return fail(`${at}.type must be query, mutation or subscription, not ${JSON.stringify(type)}`);
    // The gateway finds bodies by the hash APQ clients send, so an id must be the body's sha256.
    if (typeof id !== 'string' || id !== sha256Hex(body)) return fail(`${at}.id (${JSON.stringify(id)}) is not the sha256 of its body (${sha256Hex(body)})`);
    const first = ids.get(id);
    if (first !== undefined) fail(`${at} repeats the body of operations[${first}] (id ${id})`);
    ids.set(id, i);
    checkBody(body, name, type, (what) => fail(`${at} (${name}): ${what}`));
    return { id, name, type, body };
  });
  return { format: 'apollo-persisted-query-manifest', version: 1, operations };
}

/** A body must parse and hold the operation the entry names, so a typo fails at load, not per request. */
function checkBody(body: string, name: string, type: OperationType, fail: (what: string) => never): void {
  let document: DocumentNode;
  try {
    document = parse(body);
  } catch (error) {
    fail(`body does not parse (${(error as Error).message})`);
  }
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && d.name?.value === name);
  if (!operation) fail(`body has no operation named ${name}`);
  if (operation.operation !== type) fail(`body's ${name} is a ${operation.operation}, not a ${type}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
