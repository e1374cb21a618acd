import { ErrorCode, resolverError } from '../../protocol/errors.js';
import type { SignedCaller } from '../../protocol/signed-context.js';
import { postSignedGraphQL } from '../../protocol/signed-client.js';
import { activeTraceContext } from '../../runtime/tracing.js';

export interface ProductPrice { readonly id: string; readonly priceCents: number }

/** Reads current prices from the catalog instance of the orders subgraph's own region (global data, local replica). */
export type PriceLookup = (productIds: readonly string[], caller: SignedCaller) => Promise<Map<string, ProductPrice>>;

const pricesQuery = /* GraphQL */ `
  query ProductPrices($representations: [_Any!]!) {
    _entities(representations: $representations) { ... on Product { id priceCents } }
  }
`;

/** A price lookup slower than this fails the order: the gateway's own fetch deadline is about as long. */
const priceLookupTimeoutMs = 2_000;

export function catalogPriceLookup(catalogUrl: string, secret: string, timeoutMs = priceLookupTimeoutMs): PriceLookup {
  return async (productIds, caller) => {
    let entities: (ProductPrice | null)[] | undefined;
    // The order's trace continues in the catalog, signed with the lookup.
    const trace = activeTraceContext();
    try {
      const answer = await postSignedGraphQL<{ _entities: (ProductPrice | null)[] }>(
        catalogUrl,
        { query: pricesQuery, variables: { representations: productIds.map((id) => ({ __typename: 'Product', id })) } },
        { secret, caller, timeoutMs, ...(trace ? { trace } : {}) },
      );
      entities = answer.body.data?._entities;
    } catch {
      throw resolverError(ErrorCode.SUBGRAPH_UNAVAILABLE, 'The catalog could not be reached to price the order; try again.');
    }
    if (!entities) throw resolverError(ErrorCode.SUBGRAPH_UNAVAILABLE, 'The catalog did not return prices; try again.');
    return new Map(entities.filter((entity): entity is ProductPrice => entity !== null).map((entity) => [entity.id, entity]));
  };
}
