// The events step of `schema:check`: the event types of protocol/events.ts against the supergraph's pii tags.
import { Kind, parse } from 'graphql';
import type { EventCatalogue } from '../protocol/events.js';
import { taggedFields } from '../plugins/field-ownership.js';
import type { LintResult } from './check-lints.js';

/**
 * A `global` event is replicated to every region, so it may carry no field
 * declared `pii`; a field that copies a GraphQL field tagged pii (`from`) must
 * be declared `pii` itself, so that the first rule sees it. A `from` the
 * supergraph does not have is a warning: the declaration went stale (or the
 * graph is another team's, checked in drop-in mode).
 */
export function eventsLint(supergraphSdl: string, catalogue: EventCatalogue): LintResult & { readonly eventTypes: number } {
  const pii = taggedFields(supergraphSdl, 'pii');
  const fields = declaredFields(supergraphSdl);
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const [type, declared] of Object.entries(catalogue)) {
    for (const [name, field] of Object.entries(declared.fields)) {
      const copiesPii = field.from !== undefined && pii.has(field.from);
      if (copiesPii && !field.pii) errors.push(`event ${type}: field "${name}" copies ${field.from}, which is tagged pii, but is not declared pii`);
      if (declared.dataClass === 'global' && (field.pii || copiesPii)) {
        errors.push(`event ${type} is global (replicated to every region) but carries the pii field "${name}": make it regional, or drop the field`);
      }
      if (field.from !== undefined && !fields.has(field.from)) warnings.push(`event ${type}: field "${name}" copies ${field.from}, which the supergraph does not have`);
    }
  }
  return { errors, warnings, eventTypes: Object.keys(catalogue).length };
}

/** Every `Type.field` the supergraph declares. */
function declaredFields(supergraphSdl: string): Set<string> {
  const fields = new Set<string>();
  for (const definition of parse(supergraphSdl).definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.INTERFACE_TYPE_DEFINITION) continue;
    for (const field of definition.fields ?? []) fields.add(`${definition.name.value}.${field.name.value}`);
  }
  return fields;
}
