import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { GraphQLError, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadConfig, scopeLookup } from '../gateway/config.js';
import { costSites, fieldOwnershipOf } from '../plugins/field-ownership.js';
import { buildCostModel } from '../plugins/cost/calculator.js';
import { buildApiSchemaFromSupergraph } from './fixtures/api-schema.js';

// A global catalog and a regional accounts subgraph, with every construct the cost directives have.
const catalog = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@listSize"])
  interface Media { id: ID! title: String! }
  type Book implements Media @key(fields: "id") { id: ID! title: String! pages: Int! author: Author! price: Money! }
  type Movie implements Media @key(fields: "id") @cost(weight: 3) {
    id: ID!
    title: String!
    cast(first: Int = 3): [Author!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)
  }
  type Author @key(fields: "id") {
    id: ID!
    name: String!
    bio: String! @cost(weight: 2)
    genre: Genre!
    similar(minScore: Int @cost(weight: 2), first: Int = 3): [Author!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)
  }
  union SearchResult = Book | Movie | Author
  scalar Money @cost(weight: 4)
  enum Genre @cost(weight: 1) { FICTION SCIENCE }
  input SearchFilter { genre: Genre minPages: Int @cost(weight: 3) and: SearchFilter }
  type BookConnection { edges: [BookEdge!]! pageInfo: PageInfo! }
  type BookEdge { cursor: String! node: Book! }
  type PageInfo { hasNextPage: Boolean! }
  type Query {
    media(first: Int, last: Int): [Media!]! @listSize(slicingArguments: ["first", "last"])
    search(term: String!, limit: Int = 5, filter: SearchFilter @cost(weight: 2)): [SearchResult!]!
      @listSize(slicingArguments: ["limit"], requireOneSlicingArgument: false)
    book(id: ID!): Book
    authors: [Author!]!
    featured: [Media!]! @listSize(assumedSize: 4)
    genres: [Genre!]! @listSize(assumedSize: 2)
    report: String @cost(weight: 7)
    books(first: Int = 8): BookConnection! @listSize(slicingArguments: ["first"], sizedFields: ["edges"], requireOneSlicingArgument: false)
  }
  type Mutation { addBook(title: String!): Book! }
`;
const accounts = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@listSize"])
  type User @key(fields: "id") {
    id: ID!
    name: String!
    email: String! @cost(weight: 2)
    readingList(first: Int = 2): [Book!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)
  }
  type Book @key(fields: "id", resolvable: false) { id: ID! }
  type Query { me: User, users(first: Int = 10): [User!]! @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false) }
  type Mutation { rename(name: String!): User! @cost(weight: 5) }
`;

function composed(): string {
  const result = composeServices([
    { name: 'catalog', url: 'http://catalog', typeDefs: parse(catalog) },
    { name: 'accounts', url: 'http://accounts', typeDefs: parse(accounts) },
  ]);
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
}

/** A field only the regional subgraph resolves is charged to the tenant's home region. */
/** The production rule (costSites), over a supergraph and which of its subgraphs are regional. */
function siteByOwnership(supergraphSdl: string, isRegional: (subgraph: string) => boolean) {
  return costSites(fieldOwnershipOf(supergraphSdl), (subgraph) => (isRegional(subgraph) ? 'regional' : 'global'));
}

const fixtureSdl = composed();
const fixtureApi = buildApiSchemaFromSupergraph(fixtureSdl);
const model = buildCostModel(fixtureSdl, { siteOf: siteByOwnership(fixtureSdl, (s) => s === 'accounts') });
const documentFor = (schema: GraphQLSchema) => (query: string): DocumentNode => {
  const document = parse(query);
  expect(validate(schema, document)).toEqual([]);
  return document;
};
const op = documentFor(fixtureApi);
const cost = (query: string, variables?: Record<string, unknown>) => model.estimate(op(query), undefined, variables);
const local = (total: number) => ({ total, home: 0, local: total });
const home = (total: number) => ({ total, home: total, local: 0 });

describe('static cost over a composed fixture supergraph', () => {
  it('prices leaves by their field or type @cost, and lists by assumedSize or the default size', () => {
    expect(cost('{ report genres }')).toEqual(local(7 + 2 * 1));
    expect(cost('{ authors { name bio genre } }')).toEqual(local(10 * (1 + 0 + 2 + 1)));
    const small = buildCostModel(fixtureSdl, { defaultListSize: 7 });
    expect(small.estimate(op('{ authors { id } }'), undefined, undefined)).toEqual(home(7 * 1));
    // A field's own @cost wins over its type's: rename costs 5, not User's 1.
    expect(cost('mutation { rename(name: "x") { name email } }')).toEqual(home(10 + 5 + 2));
  });

  it('takes the most expensive concrete type of an interface, with inline and named fragments', () => {
    expect(cost('{ media(first: 4) { title ... on Movie { cast(first: 2) { name } } } }')).toEqual(local(4 * Math.max(1 + 0, 3 + 0 + 2 * (1 + 0))));
    const fragment = '{ featured { ...M } } fragment M on Media { id ... on Book { author { bio } } }';
    expect(cost(fragment)).toEqual(local(4 * Math.max(1 + (1 + 2), 3)));
  });

  it('takes the most expensive member of a union; each member counts only the fragments that apply to it', () => {
    const query = `{ search(term: "x") { ...B ... on Author { bio } ... on Movie { title cast { bio } } } }
      fragment B on Book { pages price author { name } }`;
    const book = 1 + 0 + 4 + (1 + 0);
    const author = 1 + 2;
    const movie = 3 + 0 + 3 * (1 + 2);
    expect(cost(query)).toEqual(local(5 * Math.max(book, author, movie)));
  });

  it('counts aliases separately and merges a field selected twice under one key, as execution does', () => {
    expect(cost('{ a: book(id: "1") { title } b: book(id: "2") { author { name } } }')).toEqual(local(1 + (1 + 1)));
    expect(cost('{ book(id: "1") { title } book(id: "1") { author { name } } }')).toEqual(local(1 + 1));
  });

  it('sizes a list from a slicing variable, its default, the argument default, else the default size', () => {
    const query = 'query ($n: Int) { users(first: $n) { name } }';
    expect(cost(query, { n: 3 })).toEqual(home(3 * 1));
    expect(cost(query, {})).toEqual(home(10 * 1)); // users(first: Int = 10)
    expect(cost('query ($n: Int = 4) { users(first: $n) { name } }', {})).toEqual(home(4 * 1));
    expect(cost('query ($n: Int = 4) { users(first: $n) { name } }', { n: 6 })).toEqual(home(6 * 1));
    // An explicit null leaves no slicing value and no assumedSize: the default list size.
    expect(cost(query, { n: null })).toEqual(home(10 * 1));
    expect(cost('{ media(last: 2) { id } }')).toEqual(local(2 * 3));
  });

  it('refuses a list field that needs exactly one slicing argument and gets none or two', () => {
    for (const query of ['{ media { id } }', '{ media(first: 1, last: 1) { id } }']) {
      const error = (() => {
        try {
          cost(query);
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(GraphQLError);
      expect((error as GraphQLError).extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } });
      expect((error as GraphQLError).message).toMatch(/"Query\.media"/);
    }
  });

  it('multiplies nested lists and splits them between the home region and the local one', () => {
    const query = 'query ($u: Int!, $r: Int!) { users(first: $u) { readingList(first: $r) { price } } }';
    // Query.users and User.readingList are the accounts subgraph's (home); Book.price the catalog's (local).
    expect(cost(query, { u: 3, r: 5 })).toEqual({ total: 3 + 3 * 5 + 3 * 5 * 4, home: 3 + 3 * 5, local: 3 * 5 * 4 });
    const deep = '{ users(first: 3) { readingList(first: 4) { author { bio } } } }';
    expect(cost(deep)).toEqual({ total: 3 + 3 * 4 + 3 * 4 * (1 + 2), home: 3 + 3 * 4, local: 3 * 4 * (1 + 2) });
    expect(cost('{ me { name email readingList { title author { name } } } }')).toEqual({ total: 1 + 2 + 2 + 2 * 1, home: 1 + 2 + 2, local: 2 * 1 });
  });

  it('removes fields and fragments under @skip/@include, literal or variable', () => {
    expect(cost('{ report @skip(if: true) genres @include(if: false) authors @include(if: true) { id } }')).toEqual(local(10 * 1));
    const query = `query ($withBio: Boolean!, $skipCast: Boolean = true) {
      authors { name bio @include(if: $withBio) }
      featured { ... on Movie @skip(if: $skipCast) { cast { id } } }
    }`;
    expect(cost(query, { withBio: true })).toEqual(local(10 * (1 + 2) + 4 * Math.max(1, 3)));
    expect(cost(query, { withBio: false, skipCast: false })).toEqual(local(10 * 1 + 4 * Math.max(1, 3 + 3 * 1)));
    // One key selected twice: skipping one occurrence keeps the field, without that occurrence's children.
    const merged = 'query ($s: Boolean!) { book(id: "1") @skip(if: $s) { author { bio } } book(id: "1") { title } }';
    expect(cost(merged, { s: true })).toEqual(local(1 + 0));
    expect(cost(merged, { s: false })).toEqual(local(1 + 0 + (1 + 2)));
  });

  it('charges @cost arguments and input fields when given, once per parent item', () => {
    const literal = '{ search(term: "x", limit: 2, filter: { minPages: 100, and: { minPages: 5, genre: FICTION } }) { ... on Author { name } } }';
    expect(cost(literal)).toEqual(local(2 * Math.max(1, 3, 1) + (2 + 3 + 3)));
    const variable = 'query ($f: SearchFilter) { search(term: "x", limit: 1, filter: $f) { ... on Book { id } } }';
    expect(cost(variable, { f: { minPages: 1 } })).toEqual(local(1 * 3 + 2 + 3));
    expect(cost(variable, { f: { genre: 'FICTION' } })).toEqual(local(1 * 3 + 2));
    expect(cost(variable, {})).toEqual(local(1 * 3));
    // similar's minScore is paid once for each of featured's 4 items, not for each of its own 3.
    const nested = '{ featured { ... on Book { author { similar(minScore: 5) { id } } } } }';
    expect(cost(nested)).toEqual(local(4 * Math.max(1 + 1 + (2 + 3 * 1), 3)));
  });

  it('gives a connection slicing size to its sizedFields', () => {
    expect(cost('{ books(first: 3) { pageInfo { hasNextPage } edges { cursor node { price } } } }')).toEqual(local(1 + 1 + 3 * (1 + 0 + (1 + 4))));
    expect(cost('{ books { edges { cursor } } }')).toEqual(local(1 + 8 * 1));
  });

  it('adds the mutation cost once, where the first mutation field is served', () => {
    expect(cost('mutation { addBook(title: "t") { price } }')).toEqual(local(10 + 1 + 4));
    expect(cost('mutation { rename(name: "a") { id } addBook(title: "t") { id } }')).toEqual({ total: 10 + 5 + 1, home: 10 + 5, local: 1 });
    const custom = buildCostModel(fixtureSdl, { mutationCost: 100 });
    expect(custom.estimate(op('mutation { addBook(title: "t") { id } }'), undefined, undefined)).toEqual(home(100 + 1));
  });

  it('charges nothing for __typename, introspection and fields it does not know', () => {
    expect(cost('{ __typename authors { __typename id } __schema { types { name } } }')).toEqual(local(10 * 1));
    expect(model.estimate(parse('{ notAField { x } authors { id } }'), undefined, undefined)).toEqual(local(10 * 1));
  });

  it('prices the named operation of a document', () => {
    const document = op('query A { report } query B { authors { id } }');
    expect(model.estimate(document, 'A', undefined)).toEqual(local(7));
    expect(model.estimate(document, 'B', undefined)).toEqual(local(10));
  });

  it('reads cost directives renamed by the supergraph link', () => {
    const sdl = `
      schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/cost/v0.1", as: "price") { query: Query }
      directive @link(url: String, as: String, import: [link__Import]) repeatable on SCHEMA
      directive @price(weight: Int!) on FIELD_DEFINITION | OBJECT
      directive @price__listSize(assumedSize: Int) on FIELD_DEFINITION
      scalar link__Import
      type Query { items: [Item] @price__listSize(assumedSize: 3) }
      type Item @price(weight: 5) { id: ID }
    `;
    const renamed = buildCostModel(sdl);
    expect(renamed.estimate(parse('{ items { id } }'), undefined, undefined)).toEqual(home(3 * 5));
    expect(renamed.schemaHash).toBe(createHash('sha256').update(sdl).digest('hex'));
  });
});

describe('cost of the committed supergraph', () => {
  const sdl = readFileSync('schema/supergraph.graphql', 'utf8');
  const real = documentFor(buildApiSchemaFromSupergraph(sdl));
  const productsLocal = buildCostModel(sdl, { siteOf: (typeName) => (typeName === 'Product' ? 'local' : 'home') });

  it('prices products with its default first: 20', () => {
    expect(productsLocal.estimate(real('{ products { name } }'), undefined, undefined)).toEqual(home(20 * (1 + 0)));
  });

  it('prices me → orders → items → product by hand', () => {
    // orders(first: Int = 10): 10 orders; items @listSize(assumedSize: 5); product 1; name 0 (charged to local, but worth 0).
    const expected = 1 + 10 * (1 + 5 * (1 + (1 + 0)));
    const estimate = productsLocal.estimate(real('{ me { orders { items { product { name } } } } }'), undefined, undefined);
    expect(estimate).toEqual({ total: expected, home: expected, local: 0 });
    expect(expected).toBe(111);
  });

  it('splits by the subgraphs of supergraph.yaml: catalog fields are local, users and orders home', () => {
    const scopeOf = scopeLookup(loadConfig('supergraph.yaml', {}));
    const byScope = buildCostModel(sdl, { siteOf: siteByOwnership(sdl, (s) => scopeOf(s) === 'regional') });
    const query = '{ me { name orders(first: 2) { items { product { name } } } } products(first: 3) { priceCents } }';
    const homeCost = 1 + 2 * 1 + 2 * 5 * 1 + 2 * 5 * 1; // me, orders, items, OrderItem.product (the orders subgraph's)
    expect(byScope.estimate(real(query), undefined, undefined)).toEqual({ total: homeCost + 3, home: homeCost, local: 3 * 1 });
    expect(byScope.estimate(real('mutation { placeOrder(items: []) { id } }'), undefined, undefined)).toEqual(home(10 + 20));
  });

  it('prices the response with the lengths it really holds', () => {
    const document = real('{ me { orders { items { quantity product { name } } } } }');
    const data = { me: { orders: [{ items: [{ quantity: 1, product: { name: 'a' } }, { quantity: 2, product: { name: 'b' } }] }, { items: [] }, { items: null }] } };
    expect(productsLocal.actual(document, undefined, undefined, data)).toBe(1 + 3 * 1 + (2 + 0 + 0) * 1 + 2 * 1);
    expect(productsLocal.actual(document, undefined, undefined, { me: null })).toBe(1);
  });
});

describe('actual cost over abstract types', () => {
  it('uses __typename to pick each item type, and the dearest type without it', () => {
    const document = op('{ search(term: "x") { __typename ... on Movie { cast { id } } ... on Book { price } } }');
    const data = { search: [{ __typename: 'Movie', cast: [{ id: '1' }, { id: '2' }] }, { __typename: 'Book', price: 1 }, { __typename: 'Author' }] };
    expect(model.actual(document, undefined, undefined, data)).toBe(3 + 2 * 1 + (1 + 4) + 1);
    const untyped = op('{ featured { id } }');
    expect(model.actual(untyped, undefined, undefined, { featured: [{ id: '1' }, { id: '2' }] })).toBe(2 * Math.max(1, 3));
    expect(model.actual(op('mutation { addBook(title: "t") { id } }'), undefined, undefined, { addBook: { id: '1' } })).toBe(10 + 1);
  });
});

describe('estimate cache', () => {
  // How fast a cached estimate is belongs to bench/cost-lookup.ts; what is checked here is that it is cached.
  it('returns the same estimate object for the same document', () => {
    const document = op('{ users(first: 3) { readingList { title } } }');
    const first = model.estimate(document, undefined, undefined);
    for (let i = 0; i < 100; i++) expect(model.estimate(document, undefined, { unrelated: i })).toBe(first);
    // Another DocumentNode of the same text is another cost tree: equal, not the same object.
    expect(model.estimate(op('{ users(first: 3) { readingList { title } } }'), undefined, undefined)).not.toBe(first);
  });

  it('re-prices only when a variable the cost depends on changes', () => {
    const document = op('query ($n: Int, $id: ID!) { users(first: $n) { name } book(id: $id) { title } }');
    const three = model.estimate(document, undefined, { n: 3, id: 'a' });
    expect(three).toEqual({ total: 3 + 1, home: 3, local: 1 });
    expect(model.estimate(document, undefined, { n: 3, id: 'b' })).toBe(three);
    const four = model.estimate(document, undefined, { n: 4, id: 'a' });
    expect(four).toEqual({ total: 4 + 1, home: 4, local: 1 });
    expect(model.estimate(document, undefined, { n: 3, id: 'c' })).toBe(three);
  });

  it('keeps at most estimateBytes of estimates, every operation\'s together, dropping the least recently used', () => {
    // Each key is the tree's id, a separator and the variable's value: about 2 × 4 characters + 150 bytes here.
    const bounded = buildCostModel(fixtureSdl, { estimateBytes: 10 * 160 });
    const document = op('query ($n: Int) { users(first: $n) { name } }');
    const other = op('query ($m: Int) { users(first: $m) { name } }');
    const first = bounded.estimate(document, undefined, { n: 0 });
    const used = bounded.estimate(document, undefined, { n: 1 });
    for (let m = 0; m < 8; m++) bounded.estimate(other, undefined, { m });
    expect(bounded.estimate(document, undefined, { n: 1 })).toBe(used); // used again: now the most recent
    for (let m = 8; m < 9; m++) bounded.estimate(other, undefined, { m });
    const again = bounded.estimate(document, undefined, { n: 0 });
    expect(again).toEqual(first);
    expect(again).not.toBe(first); // the least recently used, dropped for another operation's
    expect(bounded.estimate(document, undefined, { n: 1 })).toBe(used);
  });

  it('caches no estimate heavier than the whole bound: a variable as long as a request body costs no memory', () => {
    const bounded = buildCostModel(fixtureSdl, { estimateBytes: 10_000 });
    const document = op('query ($n: Int) { users(first: $n) { name } }');
    const huge = 'x'.repeat(100_000);
    const estimate = bounded.estimate(document, undefined, { n: huge });
    expect(bounded.estimate(document, undefined, { n: huge })).not.toBe(estimate);
    expect(bounded.estimate(document, undefined, { n: huge })).toEqual(estimate);
  });
});
