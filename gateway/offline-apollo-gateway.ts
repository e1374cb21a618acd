import { ApolloGateway, type GatewayConfig } from '@apollo/gateway';

/**
 * An ApolloGateway that reports nothing to Apollo. Apollo Gateway 2.x
 * collects telemetry of its own unless APOLLO_TELEMETRY_DISABLED is set: at
 * construction it probes the AWS, GCP and Azure metadata endpoints and starts
 * an hourly metrics export to Apollo's servers, which no operator of geofed
 * asked for (docs/landing-page.md, "Nothing leaves"). The variable is read in
 * the constructor, so it is set just before.
 */
export function offlineApolloGateway(config: GatewayConfig): ApolloGateway {
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  return new ApolloGateway(config);
}
