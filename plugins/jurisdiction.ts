import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { ErrorCode, geofedError } from '../protocol/errors.js';
import { clientHeaders } from '../protocol/headers.js';
import { touchesRegionalData, type FieldOwnership, type ScopeOf } from './field-ownership.js';

export interface JurisdictionPluginOptions {
  /** Field ownership of the supergraph being served (it changes on reload). */
  readonly ownership: () => FieldOwnership;
  readonly scopeOf: ScopeOf;
}

/** What the plugin reads of the request's context. */
export interface JurisdictionContext {
  /** Null for an anonymous caller. */
  readonly caller: object | null;
  /** Regions whose regional subgraphs served part of the response. */
  readonly dataRegions: ReadonlySet<string>;
  /** Regions whose global subgraph instances served part of the response. */
  readonly globalRegions: ReadonlySet<string>;
}

/**
 * Refuses, before any subgraph is called, an anonymous operation that selects
 * a field only regional subgraphs can resolve, and reports on the response
 * which regions' data served it (regional and global instances).
 */
export function jurisdictionPlugin({ ownership, scopeOf }: JurisdictionPluginOptions): ApolloServerPlugin<JurisdictionContext> {
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
      return {
        async didResolveOperation({ contextValue, schema, document, operation }) {
          if (operation && contextValue.caller === null && isRegional(schema, document, operation)) {
            throw geofedError(ErrorCode.UNAUTHENTICATED, 'This operation reads personal data: send "Authorization: Bearer <token>".');
          }
        },
        async willSendResponse({ contextValue, response }) {
          if (contextValue.dataRegions.size > 0) response.http.headers.set(clientHeaders.dataRegion, [...contextValue.dataRegions].join(', '));
          if (contextValue.globalRegions.size > 0) response.http.headers.set(clientHeaders.globalRegion, [...contextValue.globalRegions].join(', '));
        },
      };
    },
  };
}
