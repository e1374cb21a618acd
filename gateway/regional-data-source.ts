import { RemoteGraphQLDataSource, type GraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types.js';
import type { Fetcher } from '@apollo/utils.fetcher';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { GraphQLError } from 'graphql';
import type { SubgraphConfig } from './config.js';
import type { GatewayContext } from './context.js';
import { geofedError } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import { callerHeaders } from '../subgraphs/shared/caller.js';

export interface RegionalDataSourceOptions {
  readonly subgraph: SubgraphConfig;
  /** Global subgraphs are read from the instance of this region. */
  readonly gatewayRegion: string;
  readonly fetcher: Fetcher;
  readonly metrics: GatewayMetrics;
}

/**
 * The one place where a fetch's region is chosen. Apollo calls `buildService`
 * once per subgraph, and the query plan is shared by every tenant, so the
 * choice is made here, per fetch: a regional subgraph's fetch goes to the
 * tenant's home region, a global one to the gateway's own region. Each region
 * has its own RemoteGraphQLDataSource, so Apollo's protocol handling (cache
 * hints, error shapes) stays as it is.
 */
export class RegionalDataSource implements GraphQLDataSource<GatewayContext> {
  private readonly perRegion: ReadonlyMap<string, RemoteGraphQLDataSource<GatewayContext>>;

  constructor(private readonly options: RegionalDataSourceOptions) {
    this.perRegion = new Map(
      Object.entries(options.subgraph.urls).map(([region, url]) => [region, new ContextForwardingDataSource({ url, fetcher: options.fetcher })]),
    );
  }

  async process(request: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    const { subgraph, metrics } = this.options;
    const region = this.regionOf(request);
    const source = this.perRegion.get(region);
    if (!source) throw geofedError('REGION_UNAVAILABLE', `The ${subgraph.name} service has no instance in region "${region}".`);
    const stopTimer = metrics.subgraphFetchTimer(subgraph.name, region);
    try {
      const response = await source.process(request);
      stopTimer('ok');
      if (subgraph.scope === 'regional' && request.kind === GraphQLDataSourceRequestKind.INCOMING_OPERATION) {
        request.context.dataRegions.add(region);
      }
      return response;
    } catch (error) {
      stopTimer('error');
      throw this.unavailable(error, region);
    }
  }

  private regionOf(request: GraphQLDataSourceProcessOptions<GatewayContext>): string {
    const { subgraph, gatewayRegion } = this.options;
    // Health checks and schema loads carry no caller: they probe the gateway's own region.
    if (subgraph.scope === 'global' || request.kind !== GraphQLDataSourceRequestKind.INCOMING_OPERATION) return gatewayRegion;
    const region = request.context.caller?.region;
    // Never a default region: a regional fetch without a resolved tenant is refused.
    if (region === undefined) throw geofedError('UNAUTHENTICATED', `This operation reads ${subgraph.name} data: send a token.`);
    return region;
  }

  /** Transport failures become a coded error that names neither URL nor host. */
  private unavailable(error: unknown, region: string): GraphQLError {
    if (error instanceof GraphQLError && typeof error.extensions.code === 'string' && !('response' in error.extensions)) return error;
    const { subgraph } = this.options;
    return subgraph.scope === 'regional'
      ? geofedError('REGION_UNAVAILABLE', `The tenant's home region (${region}) cannot be reached for ${subgraph.name}; its data is never served from another region. Retry later.`, { region })
      : geofedError('SUBGRAPH_UNAVAILABLE', `The ${subgraph.name} service cannot be reached; retry later.`);
  }
}

/** Forwards the caller resolved by the gateway; nothing a client sent is passed on. */
class ContextForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  override willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    if (options.kind !== GraphQLDataSourceRequestKind.INCOMING_OPERATION) return;
    const caller = options.context.caller;
    const headers = options.request.http?.headers;
    if (!caller || !headers) return;
    headers.set(callerHeaders.tenant, caller.tenantId);
    headers.set(callerHeaders.user, caller.userId);
    headers.set(callerHeaders.region, caller.region);
    if (caller.roles.length > 0) headers.set(callerHeaders.roles, caller.roles.join(','));
  }
}
