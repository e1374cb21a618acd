import { getNamedType, isInputObjectType, type GraphQLNamedType } from 'graphql';
import type { CostEstimate } from './types.js';
import { sizeOf, type ArgumentCost, type Branch, type FieldCost, type Guard, type CostTree, type SizeExpr } from './cost-tree.js';
import type { SchemaCosts } from './schema-costs.js';

type Variables = Readonly<Record<string, unknown>> | undefined;
interface Split { home: number; local: number }

export interface EvaluationOptions {
  readonly costs: SchemaCosts;
  readonly mutationCost: number;
}

export function estimateTree(tree: CostTree, variables: Variables, options: EvaluationOptions): CostEstimate {
  const split = estimateFields(tree.fields, 1, variables, options.costs);
  if (tree.mutation) {
    // The surcharge stands for the write: charged where the first mutation field that runs is served.
    const site = tree.fields.find((f) => selected(f.guard, variables))?.site ?? 'home';
    split[site] += options.mutationCost;
  }
  return Object.freeze({ total: split.home + split.local, home: split.home, local: split.local });
}

function estimateFields(fields: readonly FieldCost[], multiplier: number, variables: Variables, costs: SchemaCosts): Split {
  const split: Split = { home: 0, local: 0 };
  for (const field of fields) {
    if (!selected(field.guard, variables)) continue;
    const size = field.size ? listSize(field.size, variables) : 1;
    // Arguments are read once per parent item, not once per element of the list the field returns.
    let own = argumentsCost(field.args, variables, costs) * multiplier;
    if (!field.branches) {
      own += field.weight! * multiplier * size;
    } else {
      let best: { own: number; children: Split; total: number } | undefined;
      for (const branch of field.branches) {
        const branchOwn = (field.weight ?? branch.weight) * multiplier * size;
        const children = estimateFields(branch.fields, multiplier * size, variables, costs);
        const total = branchOwn + children.home + children.local;
        if (!best || total > best.total) best = { own: branchOwn, children, total };
      }
      if (best) {
        own += best.own;
        split.home += best.children.home;
        split.local += best.children.local;
      }
    }
    split[field.site] += own;
  }
  return split;
}

export function actualOfTree(tree: CostTree, variables: Variables, data: unknown, options: EvaluationOptions): number {
  return (tree.mutation ? options.mutationCost : 0) + actualFields(tree.fields, data, variables, options.costs);
}

// The actual cost walks every object of the response: no closure or array is made per value.
function actualFields(fields: readonly FieldCost[], parent: unknown, variables: Variables, costs: SchemaCosts): number {
  if (parent === null || typeof parent !== 'object') return 0;
  let cost = 0;
  for (const field of fields) {
    if (!selected(field.guard, variables)) continue;
    cost += argumentsCost(field.args, variables, costs);
    const value = (parent as Record<string, unknown>)[field.key];
    if (!field.size) cost += field.branches ? actualItem(field, value, variables, costs) : field.weight!;
    else if (Array.isArray(value)) cost += field.branches ? actualList(field, value, variables, costs) : field.weight! * leafCount(value);
  }
  return cost;
}

/** Lists of lists count their innermost elements; a null or missing list counts nothing. */
function actualList(field: FieldCost, list: readonly unknown[], variables: Variables, costs: SchemaCosts): number {
  let cost = 0;
  for (const item of list) cost += Array.isArray(item) ? actualList(field, item, variables, costs) : actualItem(field, item, variables, costs);
  return cost;
}

function leafCount(list: readonly unknown[]): number {
  let count = 0;
  for (const item of list) count += Array.isArray(item) ? leafCount(item) : 1;
  return count;
}

function actualItem(field: FieldCost, item: unknown, variables: Variables, costs: SchemaCosts): number {
  const branches = field.branches!;
  if (branches.length === 1) return branchCost(field, branches[0]!, item, variables, costs);
  const typename = item !== null && typeof item === 'object' ? (item as { __typename?: unknown }).__typename : undefined;
  for (const branch of branches) if (branch.typeName === typename) return branchCost(field, branch, item, variables, costs);
  // The response does not say which type it holds (no __typename selected): the dearest one, as the estimate does.
  let most = 0;
  for (const branch of branches) most = Math.max(most, branchCost(field, branch, item, variables, costs));
  return most;
}

function branchCost(field: FieldCost, branch: Branch, item: unknown, variables: Variables, costs: SchemaCosts): number {
  return (field.weight ?? branch.weight) + actualFields(branch.fields, item, variables, costs);
}

function selected(guard: Guard, variables: Variables): boolean {
  if (guard === null) return true;
  return guard.some((conjunction) => conjunction.every((c) => variableValue(c.variable, c.whenAbsent, variables) !== c.excludeWhen));
}

function listSize(size: SizeExpr, variables: Variables): number {
  let given = size.literal;
  for (const slicing of size.variables) {
    const value = sizeOf(variableValue(slicing.variable, slicing.whenAbsent, variables));
    if (value !== undefined && (given === undefined || value > given)) given = value;
  }
  return given ?? size.defaults ?? size.fallback;
}

function argumentsCost(args: ArgumentCost | undefined, variables: Variables, costs: SchemaCosts): number {
  if (!args) return 0;
  let cost = args.constant;
  for (const term of args.terms) cost += inputValueCost(variableValue(term.variable, term.whenAbsent, variables), term.weight, term.type, costs);
  return cost;
}

function inputValueCost(value: unknown, weight: number, type: GraphQLNamedType, costs: SchemaCosts): number {
  if (value === null || value === undefined) return 0;
  let cost = weight;
  if (!isInputObjectType(type) || !costs.inputCanCost(type.name)) return cost;
  if (Array.isArray(value)) {
    for (const item of value) cost += inputValueCost(item, 0, type, costs);
    return cost;
  }
  if (typeof value !== 'object') return cost;
  const fields = type.getFields();
  for (const [name, fieldValue] of Object.entries(value)) {
    const field = fields[name];
    if (field) cost += inputValueCost(fieldValue, costs.inputFieldWeight(type.name, name) ?? 0, getNamedType(field.type), costs);
  }
  return cost;
}

function variableValue(name: string, whenAbsent: unknown, variables: Variables): unknown {
  const value = variables?.[name];
  return value === undefined ? whenAbsent : value;
}

