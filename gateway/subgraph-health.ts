import { ErrorCode } from '../protocol/errors.js';
import { postSignedGraphQL } from '../protocol/signed-client.js';

/** What a probe of one subgraph instance found: it answered, it could not be reached, or it refused the gateway's signature. */
export type SubgraphHealth = 'up' | 'down' | 'refuses_gateway';

export interface HealthTarget {
  readonly subgraph: string;
  readonly region: string;
  readonly url: string;
}

export interface HealthReport extends HealthTarget {
  readonly health: SubgraphHealth;
}

/** A probe slower than this counts the instance as down: an operator's status page must not hang. */
const probeTimeoutMs = 1_000;

/**
 * Probes every subgraph instance the gateway may call, in parallel, with a
 * trivial signed query. This is `/status` and `/metrics` (`geofed_subgraph_up`),
 * never readiness: one subgraph down must not pull a gateway out of its load
 * balancer, whose other tenants and reads it still serves.
 */
export async function probeSubgraphs(targets: readonly HealthTarget[], secret: string, timeoutMs = probeTimeoutMs): Promise<HealthReport[]> {
  return Promise.all(targets.map(async (target) => ({ ...target, health: await probe(target.url, secret, timeoutMs) })));
}

async function probe(url: string, secret: string, timeoutMs: number): Promise<SubgraphHealth> {
  try {
    const answer = await postSignedGraphQL<{ __typename: string }>(url, { query: '{ __typename }' }, { secret, timeoutMs });
    if (answer.status === 200 && answer.body.data?.__typename === 'Query') return 'up';
    return answer.body.errors?.[0]?.extensions?.code === ErrorCode.GATEWAY_SIGNATURE_REFUSED ? 'refuses_gateway' : 'down';
  } catch {
    return 'down';
  }
}
