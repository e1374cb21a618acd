import { createHash } from 'node:crypto';
import {
  Kind,
  buildASTSchema,
  getNamedType,
  isInputObjectType,
  parse,
  type ConstDirectiveNode,
  type ConstValueNode,
  type GraphQLInputObjectType,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';

export interface ListSize {
  readonly assumedSize: number | undefined;
  readonly slicingArguments: readonly string[];
  readonly sizedFields: readonly string[];
  readonly requireOneSlicingArgument: boolean;
}

/** The `@cost`/`@listSize` weights of a supergraph, read once from its SDL. */
export interface SchemaCosts {
  readonly schema: GraphQLSchema;
  readonly schemaHash: string;
  /** `@cost` of an object, scalar or enum type. */
  typeWeight(typeName: string): number | undefined;
  fieldWeight(typeName: string, fieldName: string): number | undefined;
  listSize(typeName: string, fieldName: string): ListSize | undefined;
  argumentWeight(typeName: string, fieldName: string, argumentName: string): number | undefined;
  inputFieldWeight(inputTypeName: string, fieldName: string): number | undefined;
  /** True when a value of this input type can carry an `@cost`ed input field, at any depth. */
  inputCanCost(inputTypeName: string): boolean;
}

export function readSchemaCosts(supergraphSdl: string): SchemaCosts {
  // The supergraph is composition's output: already valid, and validating its join__/link__ definitions again buys nothing.
  const schema = buildASTSchema(parse(supergraphSdl), { assumeValidSDL: true });
  const names = costDirectiveNames(schema);
  const types = new Map<string, number>();
  const fields = new Map<string, number>();
  const listSizes = new Map<string, ListSize>();
  const args = new Map<string, number>();
  const inputFields = new Map<string, number>();

  const weightOf = (directives: readonly ConstDirectiveNode[] | undefined): number | undefined => {
    const value = argumentValue(directives?.find((d) => d.name.value === names.cost), 'weight');
    return value?.kind === Kind.INT ? Number(value.value) : undefined;
  };

  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    const typeWeight = weightOf(type.astNode?.directives);
    if (typeWeight !== undefined) types.set(type.name, typeWeight);
    if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        const weight = weightOf(field.astNode?.directives);
        if (weight !== undefined) inputFields.set(`${type.name}.${field.name}`, weight);
      }
      continue;
    }
    if (!('getFields' in type)) continue;
    for (const field of Object.values(type.getFields())) {
      const key = `${type.name}.${field.name}`;
      const weight = weightOf(field.astNode?.directives);
      if (weight !== undefined) fields.set(key, weight);
      const listSize = listSizeOf(field.astNode?.directives?.find((d) => d.name.value === names.listSize));
      if (listSize) listSizes.set(key, listSize);
      for (const arg of field.args) {
        const argWeight = weightOf(arg.astNode?.directives);
        if (argWeight !== undefined) args.set(`${key}(${arg.name})`, argWeight);
      }
    }
  }

  const costingInputs = inputTypesThatCanCost(schema, inputFields);
  return {
    schema,
    schemaHash: createHash('sha256').update(supergraphSdl).digest('hex'),
    typeWeight: (typeName) => types.get(typeName),
    fieldWeight: (typeName, fieldName) => fields.get(`${typeName}.${fieldName}`),
    listSize: (typeName, fieldName) => listSizes.get(`${typeName}.${fieldName}`),
    argumentWeight: (typeName, fieldName, argumentName) => args.get(`${typeName}.${fieldName}(${argumentName})`),
    inputFieldWeight: (inputTypeName, fieldName) => inputFields.get(`${inputTypeName}.${fieldName}`),
    inputCanCost: (inputTypeName) => costingInputs.has(inputTypeName),
  };
}

/**
 * The names the supergraph gives the cost spec's directives. Composition links
 * `https://specs.apollo.dev/cost/v0.1` and may rename it (`as:`) or import
 * `@listSize` under another name; unlinked, the spec's own names apply.
 */
function costDirectiveNames(schema: GraphQLSchema): { cost: string; listSize: string } {
  const link = [schema.astNode, ...schema.extensionASTNodes]
    .flatMap((node) => node?.directives ?? [])
    .find((d) => {
      const url = argumentValue(d, 'url');
      return d.name.value === 'link' && url?.kind === Kind.STRING && /\/cost\/v\d/.test(url.value);
    });
  if (!link) return { cost: 'cost', listSize: 'listSize' };
  const as = argumentValue(link, 'as');
  const prefix = as?.kind === Kind.STRING ? as.value : 'cost';
  let listSize = `${prefix}__listSize`;
  const imports = argumentValue(link, 'import');
  for (const entry of imports?.kind === Kind.LIST ? imports.values : []) {
    if (entry.kind === Kind.STRING && entry.value === '@listSize') listSize = 'listSize';
    if (entry.kind === Kind.OBJECT) {
      const name = entry.fields.find((f) => f.name.value === 'name')?.value;
      const alias = entry.fields.find((f) => f.name.value === 'as')?.value;
      if (name?.kind === Kind.STRING && name.value === '@listSize') {
        listSize = alias?.kind === Kind.STRING ? alias.value.replace(/^@/, '') : 'listSize';
      }
    }
  }
  return { cost: prefix, listSize };
}

function listSizeOf(directive: ConstDirectiveNode | undefined): ListSize | undefined {
  if (!directive) return undefined;
  const assumed = argumentValue(directive, 'assumedSize');
  const requireOne = argumentValue(directive, 'requireOneSlicingArgument');
  return {
    assumedSize: assumed?.kind === Kind.INT ? Number(assumed.value) : undefined,
    slicingArguments: stringList(argumentValue(directive, 'slicingArguments')),
    sizedFields: stringList(argumentValue(directive, 'sizedFields')),
    // The spec's default is true: a missing argument means "exactly one slicing argument".
    requireOneSlicingArgument: requireOne?.kind === Kind.BOOLEAN ? requireOne.value : true,
  };
}

function inputTypesThatCanCost(schema: GraphQLSchema, inputFields: ReadonlyMap<string, number>): Set<string> {
  const inputs = Object.values(schema.getTypeMap()).filter((t): t is GraphQLInputObjectType => isInputObjectType(t));
  const costing = new Set(inputs.filter((t) => Object.keys(t.getFields()).some((f) => inputFields.has(`${t.name}.${f}`))).map((t) => t.name));
  // Input types can nest (and recurse), so propagate to a fixed point.
  for (let changed = true; changed; ) {
    changed = false;
    for (const type of inputs) {
      if (costing.has(type.name)) continue;
      const nested = Object.values(type.getFields()).map((f): GraphQLNamedType => getNamedType(f.type));
      if (nested.some((t) => costing.has(t.name))) {
        costing.add(type.name);
        changed = true;
      }
    }
  }
  return costing;
}

function argumentValue(directive: ConstDirectiveNode | undefined, name: string): ConstValueNode | undefined {
  return directive?.arguments?.find((a) => a.name.value === name)?.value;
}

function stringList(value: ConstValueNode | undefined): string[] {
  if (value?.kind === Kind.STRING) return [value.value];
  if (value?.kind !== Kind.LIST) return [];
  return value.values.flatMap((v) => (v.kind === Kind.STRING ? [v.value] : []));
}
