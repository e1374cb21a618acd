import { createHash } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, TypeInfo, getNamedType, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { z } from 'zod';
import { settingsSection } from '../runtime/settings.js';

/** `cache_control` of supergraph.yaml: CDN caching of anonymous GETs (README, "Persisted queries and CDN caching"). */
export const cacheControlSettings = settingsSection({
  /**
   * Seconds a shared cache may keep an anonymous response, by type ("Product":
   * every field of it) or field ("Query.products"). A response is public only
   * when every field it selects has a hint; its s-maxage is the smallest.
   */
  max_age: z.record(z.string().regex(/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)?$/, 'a type ("Product") or a field ("Query.products")'), z.number().int().nonnegative()).default({}),
}).prefault({});

/** What the plugin reads of the request's context: the regions whose regional subgraphs served it. */
export interface CdnCacheContext {
  readonly dataRegions: ReadonlySet<string>;
}

export interface CdnCacheOptions {
  /** Seconds a shared cache may keep a response, by type or `Type.field` (supergraph.yaml `cache_control.max_age`). */
  readonly maxAge: Readonly<Record<string, number>>;
  /** True when a global subgraph can resolve the field; whether a regional one was actually called is checked per response. */
  readonly isGlobal: () => (typeName: string, fieldName: string) => boolean;
  /** `Type.field` of the fields tagged pii in the supergraph. */
  readonly piiFields: () => ReadonlySet<string>;
}

/** Cache-Control of a response that must never be stored by a shared cache. */
const personal = 'private, no-store';

/**
 * The one owner of Cache-Control (Apollo's cache-control plugin runs with
 * calculateHttpHeaders off). A response is `public, max-age=0, s-maxage=N`
 * only for an anonymous GET without errors whose every field is global and has
 * a max-age hint (N = the smallest); anything with a token, a regional fetch
 * or a pii field is `private, no-store`; errors and everything else are
 * `no-store`. `Vary: Authorization` keeps a shared cache from serving one
 * caller's entry to another; cacheable responses get an ETag, and a matching
 * If-None-Match is answered 304.
 */
export function cdnCachePlugin({ maxAge, isGlobal, piiFields }: CdnCacheOptions): ApolloServerPlugin<CdnCacheContext> {
  const publicAgeOf = new WeakMap<OperationDefinitionNode, number>();
  const analyse = (schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): number => {
    let age = publicAgeOf.get(operation);
    if (age === undefined) {
      age = publicMaxAge(schema, document, operation, maxAge, isGlobal(), piiFields());
      publicAgeOf.set(operation, age);
    }
    return age;
  };
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ request, response, contextValue, schema, document, operation }) {
          const headers = response.http.headers;
          headers.set('vary', 'Authorization, Origin');
          const single = response.body.kind === 'single' ? response.body.singleResult : undefined;
          const errored = !single || (single.errors?.length ?? 0) > 0;
          const authenticated = request.http?.headers.has('authorization') ?? false;
          const age = document && operation ? analyse(schema, document, operation) : 0;
          if (authenticated || contextValue.dataRegions.size > 0 || age < 0) headers.set('cache-control', personal);
          else if (errored || request.http?.method !== 'GET' || age === 0) headers.set('cache-control', 'no-store');
          else {
            headers.set('cache-control', `public, max-age=0, s-maxage=${age}`);
            const etag = `"${createHash('sha256').update(JSON.stringify(single)).digest('base64url').slice(0, 27)}"`;
            headers.set('etag', etag);
            if (request.http?.headers.get('if-none-match') === etag) response.http.status = 304;
          }
        },
      };
    },
  };
}

/** The smallest hint over the operation's fields; 0 when a field has no hint or is not global; -1 when it selects pii. */
function publicMaxAge(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  maxAge: Readonly<Record<string, number>>,
  isGlobal: (typeName: string, fieldName: string) => boolean,
  pii: ReadonlySet<string>,
): number {
  const typeInfo = new TypeInfo(schema);
  const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
  let age = Number.POSITIVE_INFINITY;
  let personalData = false;
  visit(
    { kind: Kind.DOCUMENT, definitions: [operation, ...fragments] },
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (!parent || node.name.value.startsWith('__')) return;
        const type = getNamedType(parent).name;
        if (pii.has(`${type}.${node.name.value}`)) personalData = true;
        const hint = maxAge[`${type}.${node.name.value}`] ?? maxAge[type];
        age = isGlobal(type, node.name.value) && hint !== undefined ? Math.min(age, hint) : 0;
      },
    }),
  );
  if (personalData) return -1;
  return Number.isFinite(age) ? age : 0;
}
