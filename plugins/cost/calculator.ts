import type { DocumentNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import { actualOfTree, estimateTree, type EvaluationOptions } from './evaluate.js';
import { compileCostTree, type CostTree, type CostTreeOptions } from './cost-tree.js';
import { readSchemaCosts } from './schema-costs.js';
import { costSettings } from './settings.js';
import type { CostEstimate, CostSite } from './types.js';

export type { CostEstimate, CostSite } from './types.js';


export interface CostOptions {
  /** List size when neither a slicing argument nor @listSize(assumedSize) gives one. @default `cost.default_list_size`'s default */
  readonly defaultListSize?: number;
  /** Added once to every mutation. @default `cost.mutation_cost`'s default */
  readonly mutationCost?: number;
  /** Where a field's cost is charged. @default () => 'home' */
  readonly siteOf?: (typeName: string, fieldName: string) => CostSite;
  /** The most the cached estimates may weigh, every operation's together, in approximate heap bytes (`memory.cost_estimate_bytes`). @default defaultCostEstimateBytes */
  readonly estimateBytes?: number;
}


export interface CostModel {
  /** sha256 of the supergraph SDL the model was built from: caches elsewhere key on it. */
  readonly schemaHash: string;
  /** The static cost of one operation of the document. Cached: see below. */
  estimate(document: DocumentNode, operationName: string | undefined, variables: Readonly<Record<string, unknown>> | undefined): CostEstimate;
  /** The estimates cached now, every operation's (bounded by `estimateBytes`). */
  readonly estimatesHeld: { readonly entries: number; readonly bytes: number };
  /** The same model applied to the response data: list sizes are the lengths actually returned (null/missing lists count 0). */
  actual(document: DocumentNode, operationName: string | undefined, variables: Readonly<Record<string, unknown>> | undefined, data: unknown): number;
}

const settingDefaults = costSettings.parse(undefined);

/** `memory.cost_estimate_bytes`: 16 MiB, some 80,000 estimates of a few variables each. */
export const defaultCostEstimateBytes = 16 * 1024 * 1024;
/** An estimate's object, its slot in the LRU and its key's header, besides the key's characters (counted two bytes each). */
const estimateOverheadBytes = 150;

interface CachedTree {
  /** This tree's estimates are cached under keys that start with its id. */
  readonly id: number;
  readonly tree: CostTree;
  /** The estimate of an operation whose cost depends on no variable. */
  constant: CostEstimate | undefined;
}

/**
 * The static cost model (README, "Cost and rate limits") over one supergraph. Each (document,
 * operation) is compiled once into a tree that knows which variables can
 * change its cost (slicing arguments, @skip/@include conditions, @cost'ed
 * arguments); estimates are then cached by those variables' values only, so
 * the same query with another `id` is a map lookup. The document is the key
 * because Apollo Server hands the same DocumentNode to every request of the
 * same query text; a WeakMap lets it go when Apollo's document cache does.
 * The estimates are one LRU for every operation, bounded by bytes
 * (`estimateBytes`): their keys are the client's variable values, as long as
 * a request body may be.
 */
export function buildCostModel(supergraphSdl: string, options: CostOptions = {}): CostModel {
  const { defaultListSize = settingDefaults.defaultListSize, mutationCost = settingDefaults.mutationCost, siteOf = () => 'home', estimateBytes = defaultCostEstimateBytes } = options;
  const costs = readSchemaCosts(supergraphSdl);
  const treeOptions: CostTreeOptions = { costs, defaultListSize, siteOf };
  const evaluation: EvaluationOptions = { costs, mutationCost };
  const trees = new WeakMap<DocumentNode, Map<string, CachedTree>>();
  const estimates = new LRUCache<string, CostEstimate>({ maxSize: estimateBytes, sizeCalculation: (_estimate, key) => 2 * key.length + estimateOverheadBytes });
  let treesCompiled = 0;

  const cachedTree = (document: DocumentNode, operationName: string | undefined): CachedTree => {
    let byName = trees.get(document);
    if (!byName) {
      byName = new Map();
      trees.set(document, byName);
    }
    const name = operationName ?? '';
    let cached = byName.get(name);
    if (!cached) {
      // A tree that throws (too few or too many slicing arguments) is not kept: such requests fail anyway.
      cached = { id: treesCompiled++, tree: compileCostTree(document, operationName, treeOptions), constant: undefined };
      byName.set(name, cached);
    }
    return cached;
  };

  return {
    schemaHash: costs.schemaHash,
    get estimatesHeld() {
      return { entries: estimates.size, bytes: estimates.calculatedSize };
    },
    estimate(document, operationName, variables) {
      const cached = cachedTree(document, operationName);
      const { tree } = cached;
      if (tree.variables.length === 0) return (cached.constant ??= estimateTree(tree, undefined, evaluation));
      const key = `${cached.id}\u0002${cacheKey(tree.variables, variables)}`;
      let estimate = estimates.get(key);
      if (estimate) return estimate;
      estimate = estimateTree(tree, variables, evaluation);
      estimates.set(key, estimate);
      return estimate;
    },
    actual(document, operationName, variables, data) {
      return actualOfTree(cachedTree(document, operationName).tree, variables, data, evaluation);
    },
  };
}

/** Left out and null stay distinct: a left-out variable takes its default, a null one does not. */
function cacheKey(names: readonly string[], variables: Readonly<Record<string, unknown>> | undefined): string {
  let key = '';
  for (const name of names) {
    const value = variables?.[name];
    key += value === undefined ? '\u0000' : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
    key += '\u0001';
  }
  return key;
}
