import {
  Kind,
  parse,
  visit,
  visitWithTypeInfo,
  TypeInfo,
  getNamedType,
  type ConstDirectiveNode,
  type DocumentNode,
  type GraphQLSchema,
  type ObjectTypeDefinitionNode,
  type InterfaceTypeDefinitionNode,
} from 'graphql';

/** `regional`: the subgraph holds personal data and is served only in its tenant's home region. `global`: one logical service, an instance per region. */
export const subgraphScopes = ['global', 'regional'] as const;
export type SubgraphScope = (typeof subgraphScopes)[number];

/** The scope of a subgraph by name; undefined for a subgraph the config does not declare. */
export type ScopeOf = (subgraph: string) => SubgraphScope | undefined;

/**
 * Which subgraphs can resolve each field of the supergraph, read from its
 * `@join__type`/`@join__field` directives. Built once per supergraph; it lets
 * the gateway decide before execution what an operation touches.
 */
export interface FieldOwnership {
  /** Names of the subgraphs that can resolve `Type.field` (empty for unknown fields). */
  subgraphsOf(typeName: string, fieldName: string): readonly string[];
}

export function fieldOwnershipOf(supergraphSdl: string): FieldOwnership {
  const document = parse(supergraphSdl);
  const graphNames = new Map<string, string>();
  const owners = new Map<string, string[]>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.ENUM_TYPE_DEFINITION && definition.name.value === 'join__Graph') {
      for (const value of definition.values ?? []) {
        const name = stringArgument(value.directives?.find((d) => d.name.value === 'join__graph'), 'name');
        if (name) graphNames.set(value.name.value, name);
      }
    }
  }
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    recordType(definition, graphNames, owners);
  }
  return { subgraphsOf: (typeName, fieldName) => owners.get(`${typeName}.${fieldName}`) ?? [] };
}

function recordType(
  definition: ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode,
  graphNames: ReadonlyMap<string, string>,
  owners: Map<string, string[]>,
): void {
  const typeGraphs = (definition.directives ?? [])
    .filter((d) => d.name.value === 'join__type')
    .map((d) => graphNames.get(enumArgument(d, 'graph') ?? ''))
    .filter((name): name is string => name !== undefined);
  for (const field of definition.fields ?? []) {
    const joins = (field.directives ?? []).filter((d) => d.name.value === 'join__field');
    // A field without @join__field is resolvable by every subgraph that defines the type.
    const graphs = joins.length === 0
      ? typeGraphs
      : joins
          .filter((d) => !booleanArgument(d, 'external') && !booleanArgument(d, 'usedOverridden'))
          .map((d) => graphNames.get(enumArgument(d, 'graph') ?? ''))
          .filter((name): name is string => name !== undefined);
    owners.set(`${definition.name.value}.${field.name.value}`, [...new Set(graphs)]);
  }
}

function argument(directive: ConstDirectiveNode | undefined, name: string) {
  return directive?.arguments?.find((a) => a.name.value === name)?.value;
}
function stringArgument(directive: ConstDirectiveNode | undefined, name: string): string | undefined {
  const value = argument(directive, name);
  return value?.kind === Kind.STRING ? value.value : undefined;
}
function enumArgument(directive: ConstDirectiveNode, name: string): string | undefined {
  const value = argument(directive, name);
  return value?.kind === Kind.ENUM ? value.value : undefined;
}
function booleanArgument(directive: ConstDirectiveNode, name: string): boolean {
  const value = argument(directive, name);
  return value?.kind === Kind.BOOLEAN && value.value;
}

/**
 * True when the operation selects a field that only regional subgraphs can
 * resolve: such an operation needs a caller whose tenant has a region.
 * A field that a global subgraph can also resolve does not count.
 */
export function touchesRegionalData(
  schema: GraphQLSchema,
  document: DocumentNode,
  ownership: FieldOwnership,
  scopeOf: ScopeOf,
): boolean {
  const typeInfo = new TypeInfo(schema);
  let regional = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (!parent || node.name.value.startsWith('__')) return;
        const owners = ownership.subgraphsOf(getNamedType(parent).name, node.name.value);
        if (owners.length > 0 && owners.every((subgraph) => scopeOf(subgraph) === 'regional')) {
          regional = true;
        }
      },
    }),
  );
  return regional;
}

/**
 * Where each field's cost is charged: a field only a global subgraph resolves
 * costs in the gateway's region ("local"); any other field, including one
 * several subgraphs can resolve (keys, @shareable, @provides), in the
 * tenant's home region ("home").
 */
export function costSites(ownership: FieldOwnership, scopeOf: ScopeOf) {
  return (typeName: string, fieldName: string): 'home' | 'local' => {
    const owners = ownership.subgraphsOf(typeName, fieldName);
    return owners.length === 1 && scopeOf(owners[0]!) === 'global' ? 'local' : 'home';
  };
}

/** `Type.field` of every field that carries `@tag(name: <tag>)` in the supergraph (e.g. the pii fields). */
export function taggedFields(supergraphSdl: string, tag: string): Set<string> {
  const tagged = new Set<string>();
  for (const definition of parse(supergraphSdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    for (const field of definition.fields ?? []) {
      if (field.directives?.some((d) => d.name.value === 'tag' && stringArgument(d, 'name') === tag)) tagged.add(`${definition.name.value}.${field.name.value}`);
    }
  }
  return tagged;
}

/** True for a field some global subgraph can resolve: public data, when it carries no pii tag. */
export function globalFields(ownership: FieldOwnership, scopeOf: ScopeOf) {
  return (typeName: string, fieldName: string): boolean => ownership.subgraphsOf(typeName, fieldName).some((subgraph) => scopeOf(subgraph) === 'global');
}

/**
 * True when the operation writes a literal value (a string, a number, an
 * input object; not a variable) into an argument of a field only regional
 * subgraphs resolve: `updateProfile(name: "Ada")` carries a tenant's data in
 * its text, so a store that keeps the text keeps that data.
 */
export function hasRegionalLiterals(schema: GraphQLSchema, document: DocumentNode, ownership: FieldOwnership, scopeOf: ScopeOf): boolean {
  const typeInfo = new TypeInfo(schema);
  let regional = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (regional || !parent || !(node.arguments ?? []).some((argument) => argument.value.kind !== Kind.VARIABLE)) return;
        const owners = ownership.subgraphsOf(getNamedType(parent).name, node.name.value);
        if (owners.length > 0 && owners.every((subgraph) => scopeOf(subgraph) === 'regional')) regional = true;
      },
    }),
  );
  return regional;
}
