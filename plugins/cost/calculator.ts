import type { DocumentNode } from 'graphql';
import { actualOfPlan, estimatePlan, type EvaluationOptions } from './evaluate.js';
import { compileOperation, type OperationPlan, type PlanOptions } from './plan.js';
import { readSchemaCosts } from './schema-costs.js';

export type CostSite = 'home' | 'local';

export interface CostOptions {
  /** List size when neither a slicing argument nor @listSize(assumedSize) gives one. @default 10 */
  readonly defaultListSize?: number;
  /** Added once to every mutation. @default 10 */
  readonly mutationCost?: number;
  /** Where a field's cost is charged. @default () => 'home' */
  readonly siteOf?: (typeName: string, fieldName: string) => CostSite;
}

export interface CostEstimate { readonly total: number; readonly home: number; readonly local: number }

export interface CostModel {
  /** sha256 of the supergraph SDL the model was built from: caches elsewhere key on it. */
  readonly schemaHash: string;
  /** The static cost of one operation of the document. Cached: see below. */
  estimate(document: DocumentNode, operationName: string | undefined, variables: Readonly<Record<string, unknown>> | undefined): CostEstimate;
  /** The same model applied to the response data: list sizes are the lengths actually returned (null/missing lists count 0). */
  actual(document: DocumentNode, operationName: string | undefined, variables: Readonly<Record<string, unknown>> | undefined, data: unknown): number;
}

/** Estimates kept per compiled operation, one per combination of the variables its cost depends on. */
const ESTIMATES_PER_PLAN = 256;

interface CachedPlan {
  readonly plan: OperationPlan;
  /** The estimate of an operation whose cost depends on no variable. */
  constant: CostEstimate | undefined;
  readonly estimates: Map<string, CostEstimate>;
}

/**
 * The static cost model of DESIGN.md over one supergraph. Each (document,
 * operation) is compiled once into a plan that knows which variables can
 * change its cost (slicing arguments, @skip/@include conditions, @cost'ed
 * arguments); estimates are then cached by those variables' values only, so
 * the same query with another `id` is a map lookup. The document is the key
 * because Apollo Server hands the same DocumentNode to every request of the
 * same query text; a WeakMap lets it go when Apollo's document cache does.
 */
export function buildCostModel(supergraphSdl: string, options: CostOptions = {}): CostModel {
  const { defaultListSize = 10, mutationCost = 10, siteOf = () => 'home' } = options;
  const costs = readSchemaCosts(supergraphSdl);
  const planOptions: PlanOptions = { costs, defaultListSize, siteOf };
  const evaluation: EvaluationOptions = { costs, mutationCost };
  const plans = new WeakMap<DocumentNode, Map<string, CachedPlan>>();

  const cachedPlan = (document: DocumentNode, operationName: string | undefined): CachedPlan => {
    let byName = plans.get(document);
    if (!byName) {
      byName = new Map();
      plans.set(document, byName);
    }
    const name = operationName ?? '';
    let cached = byName.get(name);
    if (!cached) {
      // A plan that throws (too few or too many slicing arguments) is not kept: such requests fail anyway.
      cached = { plan: compileOperation(document, operationName, planOptions), constant: undefined, estimates: new Map() };
      byName.set(name, cached);
    }
    return cached;
  };

  return {
    schemaHash: costs.schemaHash,
    estimate(document, operationName, variables) {
      const cached = cachedPlan(document, operationName);
      const { plan } = cached;
      if (plan.variables.length === 0) return (cached.constant ??= estimatePlan(plan, undefined, evaluation));
      const key = cacheKey(plan.variables, variables);
      let estimate = cached.estimates.get(key);
      if (estimate) return estimate;
      estimate = estimatePlan(plan, variables, evaluation);
      if (cached.estimates.size >= ESTIMATES_PER_PLAN) cached.estimates.delete(cached.estimates.keys().next().value!);
      cached.estimates.set(key, estimate);
      return estimate;
    },
    actual(document, operationName, variables, data) {
      return actualOfPlan(cachedPlan(document, operationName).plan, variables, data, evaluation);
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
