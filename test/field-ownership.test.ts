import { readFileSync } from 'node:fs';
import { buildApiSchemaFromSupergraph } from './fixtures/api-schema.js';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadConfig, scopeLookup } from '../gateway/config.js';
import { fieldOwnershipOf, touchesRegionalData } from '../plugins/field-ownership.js';

const supergraph = readFileSync('schema/supergraph.graphql', 'utf8');
const ownership = fieldOwnershipOf(supergraph);
const schema = buildApiSchemaFromSupergraph(supergraph);
const scopeOf = scopeLookup(loadConfig('supergraph.yaml', {}));
const regional = (query: string) => touchesRegionalData(schema, parse(query), ownership, scopeOf);

describe('field ownership from the supergraph', () => {
  it('reads which subgraphs resolve each field', () => {
    expect(ownership.subgraphsOf('Query', 'me')).toEqual(['users']);
    expect(ownership.subgraphsOf('User', 'orders')).toEqual(['orders']);
    expect([...ownership.subgraphsOf('User', 'id')].sort()).toEqual(['orders', 'users']);
    expect(ownership.subgraphsOf('Product', 'name')).toEqual(['catalog']);
    expect(ownership.subgraphsOf('Nope', 'x')).toEqual([]);
  });

  it('finds regional fields behind fragments and aliases, and not in public reads', () => {
    expect(regional('{ products { id name } product(id: "1") { priceCents } }')).toBe(false);
    expect(regional('{ tenant { id region } }')).toBe(false);
    expect(regional('{ a: me { id } }')).toBe(true);
    expect(regional('query { ...F } fragment F on Query { user(id: "x") { id } }')).toBe(true);
    expect(regional('mutation { placeOrder(items: []) { id } }')).toBe(true);
    expect(regional('{ __typename products { __typename } }')).toBe(false);
  });
});
