import { request } from 'undici';
import { resolverError } from '../../gateway/errors.js';

export interface ProductPrice { readonly id: string; readonly priceCents: number }

/** Reads current prices from the catalog instance of the orders subgraph's own region (global data, local replica). */
export type PriceLookup = (productIds: readonly string[]) => Promise<Map<string, ProductPrice>>;

const pricesQuery = /* GraphQL */ `
  query ProductPrices($representations: [_Any!]!) {
    _entities(representations: $representations) { ... on Product { id priceCents } }
  }
`;

export function catalogPriceLookup(catalogUrl: string, timeoutMs = 2_000): PriceLookup {
  return async (productIds) => {
    let body: { data?: { _entities?: (ProductPrice | null)[] }; errors?: unknown[] };
    try {
      const response = await request(catalogUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: pricesQuery, variables: { representations: productIds.map((id) => ({ __typename: 'Product', id })) } }),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      body = (await response.body.json()) as typeof body;
    } catch {
      throw resolverError('INTERNAL_SERVER_ERROR', 'The catalog could not be reached to price the order; try again.');
    }
    const entities = body.data?._entities;
    if (!entities) throw resolverError('INTERNAL_SERVER_ERROR', 'The catalog did not return prices; try again.');
    return new Map(entities.filter((entity): entity is ProductPrice => entity !== null).map((entity) => [entity.id, entity]));
  };
}
