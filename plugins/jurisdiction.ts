import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { SubgraphScope } from '../gateway/config.js';
import type { Caller, GatewayContext } from '../gateway/context.js';
import { geofedError } from '../gateway/errors.js';
import { touchesRegionalData, type FieldOwnership } from '../gateway/field-ownership.js';
import type { TenantDirectory } from '../gateway/tenant-directory.js';
import type { TokenVerifier } from '../gateway/tokens.js';

export interface CallerResolverOptions {
  readonly directory: TenantDirectory;
  /** Verifies client tokens (HS256, and RS256/ES256 through a JWKS when configured). */
  readonly verifier: TokenVerifier;
  /** Regions this deployment serves; a tenant homed elsewhere cannot be served. */
  readonly regions: readonly string[];
}

/**
 * Step 2 of a request: token → tenant → region from the tenants directory.
 * Runs as Apollo's context function, before any plugin hook, so every later
 * step (limits, cost, the data source) sees the same resolved caller. No
 * `Authorization` header means an anonymous caller; a bad one is refused even
 * for public fields, so a client never mistakes a broken token for a session.
 */
export function callerResolver({ directory, verifier, regions }: CallerResolverOptions) {
  return async (authorization: string | undefined): Promise<Caller | null> => {
    if (authorization === undefined || authorization === '') return null;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) throw geofedError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <token>".');
    const claims = await verifier(match[1]!);
    const tenant = await directory.lookup(claims.tenantId);
    if (!tenant) throw geofedError('FORBIDDEN', `Tenant "${claims.tenantId}" is not in the tenants directory.`);
    if (tenant.status === 'suspended') throw geofedError('FORBIDDEN', `Tenant "${claims.tenantId}" is suspended; contact its administrator.`);
    if (!regions.includes(tenant.region)) {
      throw geofedError('FORBIDDEN', `Tenant "${claims.tenantId}" lives in region "${tenant.region}", which this deployment does not serve.`);
    }
    return { ...claims, region: tenant.region, plan: tenant.plan };
  };
}

export interface JurisdictionPluginOptions {
  /** Field ownership of the supergraph being served (it changes on reload). */
  readonly ownership: () => FieldOwnership;
  readonly scopeOf: (subgraph: string) => SubgraphScope | undefined;
}

export const dataRegionHeader = 'x-geofed-data-region';

/**
 * Refuses, before any subgraph is called, an anonymous operation that selects
 * a field only regional subgraphs can resolve, and reports on the response
 * which region's data served it.
 */
export function jurisdictionPlugin({ ownership, scopeOf }: JurisdictionPluginOptions): ApolloServerPlugin<GatewayContext> {
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
            throw geofedError('UNAUTHENTICATED', 'This operation reads personal data: send "Authorization: Bearer <token>".');
          }
        },
        async willSendResponse({ contextValue, response }) {
          if (contextValue.dataRegions.size > 0) response.http.headers.set(dataRegionHeader, [...contextValue.dataRegions].join(', '));
        },
      };
    },
  };
}
