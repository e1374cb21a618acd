import { ErrorCode } from '../protocol/errors.js';
import { healthDetailOf, healthProbe, type ReplicaHealth } from '../protocol/health.js';
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
  /**
   * The instance's read replica (a catalog instance), as it answered the
   * probe: null when it has none and reads its primary; absent when the
   * instance says nothing of a replica (users, orders; or it is down).
   */
  readonly replica?: ReplicaHealth | null;
}

/** A probe slower than this counts the instance as down: an operator's status page must not hang. */
const probeTimeoutMs = 1_000;

/**
 * Probes every subgraph instance the gateway may call, in parallel, with a
 * trivial signed query (protocol/health.ts) that also asks for the
 * instance's health detail: a catalog instance answers with its replica's
 * state and lag. This is `/status` and `/metrics` (`geofed_subgraph_up`,
 * `geofed_catalog_replica_lag_bytes`), never readiness: one subgraph down
 * must not pull a gateway out of its load balancer, whose other tenants and
 * reads it still serves.
 */
export async function probeSubgraphs(targets: readonly HealthTarget[], secret: string, timeoutMs = probeTimeoutMs): Promise<HealthReport[]> {
  return Promise.all(targets.map(async (target) => ({ ...target, ...(await probe(target.url, secret, timeoutMs)) })));
}

async function probe(url: string, secret: string, timeoutMs: number): Promise<Pick<HealthReport, 'health' | 'replica'>> {
  try {
    const answer = await postSignedGraphQL<{ __typename: string }>(url, healthProbe, { secret, timeoutMs });
    if (answer.status === 200 && answer.body.data?.__typename === 'Query') {
      // The answer's extensions are the instance's to fill: read as untrusted input, through the protocol's parser.
      const detail = healthDetailOf((answer.body as { extensions?: unknown }).extensions);
      return { health: 'up', ...(detail?.replica === undefined ? {} : { replica: detail.replica }) };
    }
    return { health: answer.body.errors?.[0]?.extensions?.code === ErrorCode.GATEWAY_SIGNATURE_REFUSED ? 'refuses_gateway' : 'down' };
  } catch {
    return { health: 'down' };
  }
}
