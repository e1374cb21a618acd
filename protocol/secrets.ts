/** Documented in README.md; refused when NODE_ENV=production. */
export const devSubgraphSecret = 'geofed-dev-subgraph-secret-do-not-use-in-production';

/** The shortest secret production accepts. */
export const minimumSecretLength = 32;

export interface SubgraphSecrets {
  /** Signs outgoing requests. */
  readonly current: string;
  /** Every secret a subgraph accepts: the current one and, during a rotation, the previous one. */
  readonly accepted: readonly string[];
}

/**
 * What is wrong with a signing secret a deployable read, or undefined: both
 * sides apply the same rule, and production refuses the dev default.
 */
export function secretProblem(secret: string | undefined, production: boolean): string | undefined {
  if (!production) return undefined;
  if (secret === undefined || secret === devSubgraphSecret || secret.length < minimumSecretLength) {
    return `production needs a secret of its own of at least ${minimumSecretLength} characters`;
  }
  return undefined;
}

/** The secrets of the signed context (`GEOFED_SUBGRAPH_SECRET`, `GEOFED_SUBGRAPH_SECRET_PREVIOUS`), checked with `secretProblem`. */
export function subgraphSecrets(current: string | undefined, previous: string | undefined): SubgraphSecrets {
  const signing = current ?? devSubgraphSecret;
  return { current: signing, accepted: previous ? [signing, previous] : [signing] };
}
