import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';

/**
 * The plugins that keep an ApolloServer from talking to Apollo's services,
 * whatever the environment says (docs/landing-page.md, "Nothing leaves"):
 * no usage reports and no schema reports, even with APOLLO_KEY,
 * APOLLO_GRAPH_REF or APOLLO_SCHEMA_REPORTING set, and no landing page of
 * Apollo's (its Sandbox and its production page load scripts from Apollo's
 * CDN). The gateway serves its own, offline (gateway/landing-page.ts); a
 * subgraph serves none. Both deployables install these in their ApolloServer.
 */
export function apolloOffline(): ApolloServerPlugin<BaseContext>[] {
  return [ApolloServerPluginUsageReportingDisabled(), ApolloServerPluginSchemaReportingDisabled(), ApolloServerPluginLandingPageDisabled()];
}
