import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';

/**
 * Apollo Gateway sends one representation per entity position of an entity
 * fetch, so a deep query sends the same product hundreds of times in one
 * `_entities` call (the classic workload: 288 representations, 6 distinct).
 * This sends each distinct representation once and hands every position the
 * entity its representation got, as Apollo Router does. The answer is the
 * same: an entity's answer depends only on its representation and the fetch's
 * selection, which every position of one fetch shares. Errors at
 * `_entities.<i>` are repeated for every position that maps to `i`.
 */
export interface DedupedRepresentations {
  /** The fetch's variables with each representation once. */
  readonly variables: Record<string, unknown>;
  /** Restores one entity (and its errors) per position of the original representations. */
  expand(response: GatewayGraphQLResponse): GatewayGraphQLResponse;
}

/** Undefined when no representation repeats. */
export function dedupRepresentations(variables: Record<string, unknown> | undefined): DedupedRepresentations | undefined {
  const representations = variables?.['representations'];
  if (!Array.isArray(representations) || representations.length < 2) return undefined;
  const distinctIndex = new Map<string, number>();
  const positionToDistinct = new Array<number>(representations.length);
  const distinct: unknown[] = [];
  for (let position = 0; position < representations.length; position++) {
    const key = JSON.stringify(representations[position]);
    let index = distinctIndex.get(key);
    if (index === undefined) {
      index = distinct.length;
      distinctIndex.set(key, index);
      distinct.push(representations[position]);
    }
    positionToDistinct[position] = index;
  }
  if (distinct.length === representations.length) return undefined;
  return {
    variables: { ...variables, representations: distinct },
    expand: (response) => expandEntities(response, positionToDistinct),
  };
}

function expandEntities(response: GatewayGraphQLResponse, positionToDistinct: readonly number[]): GatewayGraphQLResponse {
  const entities = (response.data as { _entities?: unknown } | null | undefined)?._entities;
  const data = Array.isArray(entities) ? { ...response.data, _entities: positionToDistinct.map((index) => entities[index] ?? null) } : response.data;
  if (!response.errors?.length) return { ...response, data };
  const positionsOf = new Map<number, number[]>();
  positionToDistinct.forEach((index, position) => {
    const positions = positionsOf.get(index);
    if (positions) positions.push(position);
    else positionsOf.set(index, [position]);
  });
  const errors = response.errors.flatMap((error) => {
    const path = error.path;
    if (path?.[0] !== '_entities' || typeof path[1] !== 'number') return [error];
    return (positionsOf.get(path[1]) ?? []).map((position) => ({ ...error, path: ['_entities', position, ...path.slice(2)] }));
  });
  return { ...response, data, errors };
}
