import { postSignedGraphQL } from '../protocol/signed-client.js';

export interface ProbeTarget { readonly name: string; readonly url: string }
export interface ReadinessReport { readonly ready: boolean; readonly subgraphs: Record<string, 'up' | 'down'> }

/**
 * `/readyz`: every subgraph instance of the gateway's region answers a trivial
 * query. Probes run in parallel with a short deadline, so a dead subgraph makes
 * the gateway not-ready quickly instead of hanging the orchestrator's check.
 */
/** A probe slower than this counts the subgraph as down: an orchestrator's check must not hang. */
const probeTimeoutMs = 1_000;

export function readinessProbe(targets: readonly ProbeTarget[], secret: string, timeoutMs = probeTimeoutMs): () => Promise<ReadinessReport> {
  return async () => {
    const results = await Promise.all(targets.map(async (target) => [target.name, (await isUp(target.url, secret, timeoutMs)) ? 'up' : 'down'] as const));
    return { ready: results.every(([, state]) => state === 'up'), subgraphs: Object.fromEntries(results) };
  };
}

async function isUp(url: string, secret: string, timeoutMs: number): Promise<boolean> {
  try {
    const answer = await postSignedGraphQL<{ __typename: string }>(url, { query: '{ __typename }' }, { secret, timeoutMs });
    return answer.status === 200 && answer.body.data?.__typename === 'Query';
  } catch {
    return false;
  }
}
