import { createHash } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, TypeInfo, getNamedType, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import { registeredMetric } from '../runtime/registered-metric.js';
import { settingsSection } from '../runtime/settings.js';
import { rateLimitHeaderNames } from './rate-limit/headers.js';

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
  /** Where the plugin's counters are registered (the gateway's /metrics). */
  readonly registry: Registry;
}

type CacheControlClass = 'public' | 'private' | 'no-store';

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
 * If-None-Match is answered 304. A public response carries no RateLimit
 * fields: they describe one client's budget, and a shared cache would hand
 * them to every client it serves the entry to.
 *
 * A CDN's hits never reach the gateway; what it sees of them is counted: the
 * responses by Cache-Control class, and the revalidations of a cacheable
 * response (a conditional GET), a `hit` when the cache's copy still holds
 * (304) and a `miss` when the answer changed.
 */
export function cdnCachePlugin({ maxAge, isGlobal, piiFields, registry }: CdnCacheOptions): ApolloServerPlugin<CdnCacheContext> {
  const responses = registeredMetric(
    registry,
    'geofed_cdn_responses_total',
    () => new Counter({ name: 'geofed_cdn_responses_total', help: 'GraphQL responses by the Cache-Control class the gateway gave them: public (a CDN may keep it), private or no-store.', labelNames: ['cache_control'] as const, registers: [registry] }),
  );
  const revalidations = registeredMetric(
    registry,
    'geofed_cdn_revalidations_total',
    () => new Counter({ name: 'geofed_cdn_revalidations_total', help: 'Conditional GETs (If-None-Match) of a public response: hit when the cached copy still holds (304), miss when the answer changed.', labelNames: ['result'] as const, registers: [registry] }),
  );
  const classify = (cacheControl: CacheControlClass) => responses.inc({ cache_control: cacheControl });
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
          if (authenticated || contextValue.dataRegions.size > 0 || age < 0) {
            headers.set('cache-control', personal);
            return classify('private');
          }
          if (errored || request.http?.method !== 'GET' || age === 0) {
            headers.set('cache-control', 'no-store');
            return classify('no-store');
          }
          headers.set('cache-control', `public, max-age=0, s-maxage=${age}`);
          for (const name of rateLimitHeaderNames) headers.delete(name);
          classify('public');
          const etag = `"${createHash('sha256').update(JSON.stringify(single)).digest('base64url').slice(0, 27)}"`;
          headers.set('etag', etag);
          const conditional = request.http?.headers.get('if-none-match');
          if (conditional === undefined) return;
          revalidations.inc({ result: conditional === etag ? 'hit' : 'miss' });
          if (conditional === etag) response.http.status = 304;
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
