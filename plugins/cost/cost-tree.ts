import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isAbstractType,
  isCompositeType,
  isInputObjectType,
  isListType,
  isObjectType,
  valueFromASTUntyped,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { HeaderMap } from '@apollo/server';
import { ErrorCode, geofedError, statusOfCode } from '../../protocol/errors.js';
import type { CostSite } from './types.js';
import type { ListSize, SchemaCosts } from './schema-costs.js';

/** `@skip`/`@include` with a variable: the selection is left out when the variable holds `excludeWhen`. */
export interface Condition { readonly variable: string; readonly excludeWhen: boolean; readonly whenAbsent: unknown }
/** null: always selected. Otherwise selected when every condition of at least one conjunction holds. */
export type Guard = readonly (readonly Condition[])[] | null;

/** A slicing argument bound to a variable; `whenAbsent` is the variable's default, else the argument's. */
export interface SlicingVariable { readonly variable: string; readonly whenAbsent: unknown }
export interface SizeExpr {
  /** Largest literal slicing argument of the operation. */
  readonly literal: number | undefined;
  readonly variables: readonly SlicingVariable[];
  /** Largest schema default of the slicing arguments the operation leaves out: used only when no given one has a value. */
  readonly defaults: number | undefined;
  /** `@listSize(assumedSize)`, else the default list size. */
  readonly fallback: number;
}

/** An argument or input field bound to a variable, charged from the variable's value. */
export interface InputTerm { readonly variable: string; readonly weight: number; readonly type: GraphQLNamedType; readonly whenAbsent: unknown }
export interface ArgumentCost { readonly constant: number; readonly terms: readonly InputTerm[] }

export interface FieldCost {
  /** Response key: aliases are separate fields, repeated keys were merged as execution merges them. */
  readonly key: string;
  readonly site: CostSite;
  readonly guard: Guard;
  /** Defined for leaves; for composites, undefined means "the weight of the concrete type". */
  readonly weight: number | undefined;
  /** Undefined when the field is not a list. */
  readonly size: SizeExpr | undefined;
  readonly args: ArgumentCost | undefined;
  /** One per possible concrete type; undefined for leaves. */
  readonly branches: readonly Branch[] | undefined;
}
export interface Branch { readonly typeName: string; readonly weight: number; readonly fields: readonly FieldCost[] }

export interface CostTree {
  readonly fields: readonly FieldCost[];
  readonly mutation: boolean;
  /** The variables whose values can change the cost, in a fixed order: the estimate cache keys on them. */
  readonly variables: readonly string[];
}

export interface CostTreeOptions {
  readonly costs: SchemaCosts;
  readonly defaultListSize: number;
  readonly siteOf: (typeName: string, fieldName: string) => CostSite;
}

interface Source { readonly set: SelectionSetNode; readonly conjunction: readonly Condition[] }
interface Occurrence { readonly node: FieldNode; readonly conjunction: readonly Condition[] }
interface SizedFields { readonly names: ReadonlySet<string>; readonly size: SizeExpr }
interface Context extends CostTreeOptions {
  readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  readonly variableDefaults: ReadonlyMap<string, unknown>;
  readonly dependencies: Set<string>;
}

export function compileCostTree(document: DocumentNode, operationName: string | undefined, options: CostTreeOptions): CostTree {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName === undefined ? (operations.length === 1 ? operations[0] : undefined) : operations.find((o) => o.name?.value === operationName);
  if (!operation) {
    throw geofedError(ErrorCode.OPERATION_RESOLUTION_FAILURE, operationName === undefined ? 'Must provide operation name if query contains multiple operations.' : 'The document has no operation of that name.');
  }
  const { schema } = options.costs;
  const root = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  const context: Context = {
    ...options,
    fragments: new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : []))),
    variableDefaults: new Map(operation.variableDefinitions?.flatMap((v) => (v.defaultValue ? [[v.variable.name.value, valueFromASTUntyped(v.defaultValue)] as const] : [])) ?? []),
    dependencies: new Set(),
  };
  const fields = root ? compileSelection(root, [{ set: operation.selectionSet, conjunction: [] }], undefined, context) : [];
  return { fields, mutation: operation.operation === 'mutation', variables: [...context.dependencies] };
}

function compileSelection(type: GraphQLCompositeType, sources: readonly Source[], sized: SizedFields | undefined, context: Context): FieldCost[] {
  const fields: FieldCost[] = [];
  for (const [key, occurrences] of collectFields(type, sources, context)) {
    const field = compileField(type, key, occurrences, sized, context);
    if (field) fields.push(field);
  }
  return fields;
}

/** Execution's field collection for one concrete type, keeping the conditions each occurrence was selected under. */
function collectFields(type: GraphQLCompositeType, sources: readonly Source[], context: Context): Map<string, Occurrence[]> {
  const fields = new Map<string, Occurrence[]>();
  const visit = (set: SelectionSetNode, conjunction: readonly Condition[]) => {
    for (const selection of set.selections) {
      const conditions = conditionsOf(selection.directives, context);
      if (conditions === 'excluded') continue;
      const selectedUnder = conditions.length > 0 ? [...conjunction, ...conditions] : conjunction;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        const list = fields.get(key);
        if (list) list.push({ node: selection, conjunction: selectedUnder });
        else fields.set(key, [{ node: selection, conjunction: selectedUnder }]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (applies(selection.typeCondition?.name.value, type, context)) visit(selection.selectionSet, selectedUnder);
      } else {
        const fragment = context.fragments.get(selection.name.value);
        if (fragment && applies(fragment.typeCondition.name.value, type, context)) visit(fragment.selectionSet, selectedUnder);
      }
    }
  };
  for (const source of sources) visit(source.set, source.conjunction);
  return fields;
}

function applies(condition: string | undefined, type: GraphQLCompositeType, context: Context): boolean {
  if (condition === undefined || condition === type.name) return true;
  const conditionType = context.costs.schema.getType(condition);
  return isAbstractType(conditionType) && isObjectType(type) && context.costs.schema.isSubType(conditionType, type);
}

function conditionsOf(directives: readonly DirectiveNode[] | undefined, context: Context): Condition[] | 'excluded' {
  const conditions: Condition[] = [];
  for (const directive of directives ?? []) {
    const name = directive.name.value;
    if (name !== 'skip' && name !== 'include') continue;
    const value = directive.arguments?.find((a) => a.name.value === 'if')?.value;
    const excludeWhen = name === 'skip';
    if (value?.kind === Kind.BOOLEAN && value.value === excludeWhen) return 'excluded';
    if (value?.kind === Kind.VARIABLE) {
      context.dependencies.add(value.name.value);
      conditions.push({ variable: value.name.value, excludeWhen, whenAbsent: context.variableDefaults.get(value.name.value) });
    }
  }
  return conditions;
}

function compileField(type: GraphQLCompositeType, key: string, occurrences: readonly Occurrence[], sized: SizedFields | undefined, context: Context): FieldCost | undefined {
  const first = occurrences[0]!;
  const name = first.node.name.value;
  // __typename and introspection cost nothing; unknown fields (not in this supergraph) neither.
  const definition = name.startsWith('__') || !('getFields' in type) ? undefined : type.getFields()[name];
  if (!definition) return undefined;
  const { costs } = context;
  const listSize = costs.listSize(type.name, name);
  checkSlicingArguments(type.name, definition, first.node, listSize);
  const sliced = sizeExpression(listSize, first.node, definition, context);
  const isList = hasList(definition.type);
  const connection = listSize && listSize.sizedFields.length > 0;
  // With sizedFields the slicing size belongs to the named children, not to the field.
  const size = !isList ? undefined : sized?.names.has(name) ? sized.size : connection ? constantSize(context.defaultListSize) : sliced;
  const base = {
    key,
    site: context.siteOf(type.name, name),
    guard: occurrences.some((o) => o.conjunction.length === 0) ? null : occurrences.map((o) => o.conjunction),
    size,
    args: argumentCost(type.name, definition, first.node, context),
  };
  const named = getNamedType(definition.type);
  const fieldWeight = costs.fieldWeight(type.name, name);
  if (!isCompositeType(named)) return { ...base, weight: fieldWeight ?? costs.typeWeight(named.name) ?? 0, branches: undefined };
  const sources = occurrences.flatMap((o) => (o.node.selectionSet ? [{ set: o.node.selectionSet, conjunction: o.conjunction }] : []));
  const possible = isAbstractType(named) ? costs.schema.getPossibleTypes(named) : [named];
  const childSized = connection ? { names: new Set(listSize.sizedFields), size: sliced } : undefined;
  const branches = (possible.length > 0 ? possible : [named]).map((concrete) => ({
    typeName: concrete.name,
    weight: costs.typeWeight(concrete.name) ?? 1,
    fields: compileSelection(concrete, sources, childSized, context),
  }));
  return { ...base, weight: fieldWeight, branches };
}

function checkSlicingArguments(typeName: string, definition: GraphQLField<unknown, unknown>, node: FieldNode, listSize: ListSize | undefined): void {
  if (!listSize?.requireOneSlicingArgument || listSize.slicingArguments.length === 0) return;
  const given = listSize.slicingArguments.filter((a) => node.arguments?.some((n) => n.name.value === a && n.value.kind !== Kind.NULL));
  if (given.length === 1) return;
  const expected = listSize.slicingArguments.map((a) => `"${a}"`).join(', ');
  throw new GraphQLError(`Field "${typeName}.${definition.name}" must be given exactly one of its slicing arguments (${expected}); it was given ${given.length}.`, {
    nodes: [node],
    // As Apollo's own validation errors: a 400, whichever hook raises it.
    extensions: { code: ErrorCode.GRAPHQL_VALIDATION_FAILED, http: { status: statusOfCode.GRAPHQL_VALIDATION_FAILED, headers: new HeaderMap() } },
  });
}

function sizeExpression(listSize: ListSize | undefined, node: FieldNode, definition: GraphQLField<unknown, unknown>, context: Context): SizeExpr {
  const fallback = listSize?.assumedSize ?? context.defaultListSize;
  let literal: number | undefined;
  let defaults: number | undefined;
  const variables: SlicingVariable[] = [];
  for (const name of listSize?.slicingArguments ?? []) {
    const argumentDefault = definition.args.find((a) => a.name === name)?.defaultValue;
    const value = node.arguments?.find((a) => a.name.value === name)?.value;
    if (!value) {
      defaults = larger(defaults, sizeOf(argumentDefault));
    } else if (value.kind === Kind.VARIABLE) {
      const variable = value.name.value;
      context.dependencies.add(variable);
      // graphql-js: a variable left out takes its own default, and without one the argument keeps its schema default.
      variables.push({ variable, whenAbsent: context.variableDefaults.has(variable) ? context.variableDefaults.get(variable) : argumentDefault });
    } else {
      literal = larger(literal, sizeOf(valueFromASTUntyped(value)));
    }
  }
  return { literal, variables, defaults, fallback };
}

function constantSize(size: number): SizeExpr {
  return { literal: undefined, variables: [], defaults: undefined, fallback: size };
}

function argumentCost(typeName: string, definition: GraphQLField<unknown, unknown>, node: FieldNode, context: Context): ArgumentCost | undefined {
  const { costs } = context;
  let constant = 0;
  const terms: InputTerm[] = [];
  // Only what the operation gives is charged: a schema default costs nothing, and neither does null.
  const walk = (value: ValueNode, weight: number | undefined, type: GraphQLNamedType) => {
    if (value.kind === Kind.NULL) return;
    if (value.kind === Kind.VARIABLE) {
      context.dependencies.add(value.name.value);
      terms.push({ variable: value.name.value, weight: weight ?? 0, type, whenAbsent: context.variableDefaults.get(value.name.value) });
      return;
    }
    constant += weight ?? 0;
    if (!isInputObjectType(type) || !costs.inputCanCost(type.name)) return;
    if (value.kind === Kind.LIST) for (const item of value.values) walk(item, undefined, type);
    if (value.kind !== Kind.OBJECT) return;
    const fields = type.getFields();
    for (const field of value.fields) {
      const fieldDefinition = fields[field.name.value];
      if (fieldDefinition) walk(field.value, costs.inputFieldWeight(type.name, field.name.value), getNamedType(fieldDefinition.type));
    }
  };
  for (const argument of node.arguments ?? []) {
    const argumentDefinition = definition.args.find((a) => a.name === argument.name.value);
    if (!argumentDefinition) continue;
    const weight = costs.argumentWeight(typeName, definition.name, argumentDefinition.name);
    const type = getNamedType(argumentDefinition.type);
    if (weight === undefined && !costs.inputCanCost(type.name)) continue;
    walk(argument.value, weight, type);
  }
  return constant === 0 && terms.length === 0 ? undefined : { constant, terms };
}

function hasList(type: GraphQLType): boolean {
  return isListType(getNullableType(type));
}

function larger(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

export function sizeOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? Math.max(0, Math.trunc(value)) : undefined;
}
