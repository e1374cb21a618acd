// The lints of `schema:check` that read the fresh supergraph: data residency of pii fields,
// persisted operations against the new API schema, and list fields the cost analysis cannot size.
import {
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  Kind,
  parse,
  validate,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import type { GeofedConfig } from '../gateway/config.js';
import { fieldOwnershipOf, taggedFields } from '../plugins/field-ownership.js';
import type { PersistedQueryManifest } from '../plugins/persisted-queries/manifest.js';

export interface LintResult {
  readonly errors: string[];
  readonly warnings: string[];
}

/**
 * A field tagged `pii` must only be resolvable by regional subgraphs: a global subgraph serves
 * every tenant from every region, so personal data it returns would leave its jurisdiction.
 */
export function residencyLint(supergraphSdl: string, config: GeofedConfig): LintResult & { readonly piiFields: number } {
  const scopes = new Map(config.subgraphs.map((s) => [s.name, s.scope] as const));
  const ownership = fieldOwnershipOf(supergraphSdl);
  const pii = [...taggedFields(supergraphSdl, 'pii')].sort();
  const errors: string[] = [];
  for (const coordinate of pii) {
    const [type = '', field = ''] = coordinate.split('.');
    for (const subgraph of ownership.subgraphsOf(type, field)) {
      if (scopes.get(subgraph) === 'global') {
        errors.push(`${type}.${field} is tagged pii, but the global subgraph ${subgraph} resolves it (only regional subgraphs may)`);
      }
    }
  }
  return { errors, warnings: [], piiFields: pii.length };
}

/** Every operation of the manifest must still validate against the new API schema. */
export function operationsLint(manifest: PersistedQueryManifest, apiSchema: GraphQLSchema): LintResult {
  const errors: string[] = [];
  for (const operation of manifest.operations) {
    let messages: string[];
    try {
      messages = validate(apiSchema, parse(operation.body)).map((error) => error.message);
    } catch (error) {
      messages = [(error as Error).message];
    }
    for (const message of messages) errors.push(`operation ${operation.name} (${operation.id.slice(0, 12)}): ${message}`);
  }
  return { errors, warnings: [] };
}

const SLICING_ARGUMENTS = new Set(['first', 'last', 'limit']);

/**
 * A list field with neither `@listSize` (in the supergraph) nor a slicing argument is costed
 * at `cost.default_list_size`, which may be far from what it returns: a warning, not a failure.
 */
export function costLint(supergraphSdl: string, apiSchema: GraphQLSchema): LintResult {
  const sized = listSizedFields(supergraphSdl);
  const warnings: string[] = [];
  for (const type of Object.values(apiSchema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (!isList(field.type)) continue;
      if (sized.has(`${type.name}.${field.name}`)) continue;
      if (field.args.some((arg) => SLICING_ARGUMENTS.has(arg.name))) continue;
      warnings.push(`${type.name}.${field.name}: ${String(field.type)} has neither @listSize nor a slicing argument (first/last/limit); its cost assumes the default list size`);
    }
  }
  return { errors: [], warnings };
}

function isList(type: GraphQLOutputType): boolean {
  return (type instanceof GraphQLNonNull ? type.ofType : type) instanceof GraphQLList;
}

/** `Type.field` of every field definition carrying `@listSize` in the supergraph SDL. */
export function listSizedFields(supergraphSdl: string): Set<string> {
  const sized = new Set<string>();
  for (const definition of parse(supergraphSdl).definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.OBJECT_TYPE_EXTENSION &&
      definition.kind !== Kind.INTERFACE_TYPE_DEFINITION &&
      definition.kind !== Kind.INTERFACE_TYPE_EXTENSION
    ) continue;
    for (const field of definition.fields ?? []) {
      if (field.directives?.some((d) => d.name.value === 'listSize')) sized.add(`${definition.name.value}.${field.name.value}`);
    }
  }
  return sized;
}
