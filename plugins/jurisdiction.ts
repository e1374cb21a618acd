import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { Counter, type Registry } from 'prom-client';
import { ErrorCode, geofedError } from '../protocol/errors.js';
import { clientHeaders } from '../protocol/headers.js';
import { registeredMetric } from '../runtime/registered-metric.js';
import { touchesRegionalData, type FieldOwnership, type ScopeOf } from './field-ownership.js';

export interface JurisdictionPluginOptions {
  /** Field ownership of the supergraph being served (it changes on reload). */
  readonly ownership: () => FieldOwnership;
  readonly scopeOf: ScopeOf;
  /** Where the refusals are counted (the gateway's /metrics). */
  readonly registry: Registry;
}

/**
 * Why residency refused (part of) an operation: `anonymous`, regional data
 * asked for without a token (this plugin); `violation`, a regional subgraph
 * refused a tenant of another region (RESIDENCY_VIOLATION); `home_unavailable`,
 * the tenant's home region could not be reached and its data was not served
 * from another one (REGION_UNAVAILABLE).
 */
export type ResidencyRefusal = 'anonymous' | 'violation' | 'home_unavailable';

const refusalOfCode: Readonly<Record<string, ResidencyRefusal>> = { [ErrorCode.RESIDENCY_VIOLATION]: 'violation', [ErrorCode.REGION_UNAVAILABLE]: 'home_unavailable' };

/** What the plugin reads of the request's context. */
export interface JurisdictionContext {
  /** Null for an anonymous caller. */
  readonly caller: { readonly region: string } | null;
  /** Regions whose regional subgraphs served part of the response. */
  readonly dataRegions: ReadonlySet<string>;
  /** Regions whose global subgraph instances served part of the response. */
  readonly globalRegions: ReadonlySet<string>;
}

/**
 * Refuses, before any subgraph is called, an anonymous operation that selects
 * a field only regional subgraphs can resolve, and reports on the response
 * which regions' data served it (regional and global instances). Every
 * residency refusal of a response, this plugin's or a fetch's, is counted once
 * per reason in `geofed_residency_refusals_total{region,reason}` (region: the
 * tenant's home region, `anonymous` without a token).
 */
export function jurisdictionPlugin({ ownership, scopeOf, registry }: JurisdictionPluginOptions): ApolloServerPlugin<JurisdictionContext> {
  const refusals = registeredMetric(
    registry,
    'geofed_residency_refusals_total',
    () =>
      new Counter({
        name: 'geofed_residency_refusals_total',
        help: 'Operations residency refused, whole or in part, by the tenant\'s home region ("anonymous" without a token) and reason: anonymous (regional data without a token), violation (a regional subgraph refused a tenant of another region), home_unavailable (the home region could not be reached and was not replaced).',
        labelNames: ['region', 'reason'] as const,
        registers: [registry],
      }),
  );
  // Keyed by the parsed operation, which Apollo's document cache reuses across requests.
  const regionalByOperation = new WeakMap<OperationDefinitionNode, boolean>();
  const isRegional = (schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): boolean => {
    let regional = regionalByOperation.get(operation);
    if (regional === undefined) {
      const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
      regional = touchesRegionalData(schema, { kind: Kind.DOCUMENT, definitions: [operation, ...fragments] }, ownership(), scopeOf);
      regionalByOperation.set(operation, regional);
    }
    return regional;
  };
  return {
    async requestDidStart() {
      let refusedAnonymous = false;
      return {
        async didResolveOperation({ contextValue, schema, document, operation }) {
          if (operation && contextValue.caller === null && isRegional(schema, document, operation)) {
            refusedAnonymous = true;
            throw geofedError(ErrorCode.UNAUTHENTICATED, 'This operation reads personal data: send "Authorization: Bearer <token>".');
          }
        },
        async willSendResponse({ contextValue, response }) {
          const reasons = new Set<ResidencyRefusal>(refusedAnonymous ? ['anonymous'] : []);
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          for (const error of errors) {
            const reason = refusalOfCode[String(error.extensions?.code)];
            if (reason) reasons.add(reason);
          }
          for (const reason of reasons) refusals.inc({ region: contextValue.caller?.region ?? 'anonymous', reason });
          if (contextValue.dataRegions.size > 0) response.http.headers.set(clientHeaders.dataRegion, [...contextValue.dataRegions].join(', '));
          if (contextValue.globalRegions.size > 0) response.http.headers.set(clientHeaders.globalRegion, [...contextValue.globalRegions].join(', '));
        },
      };
    },
  };
}
