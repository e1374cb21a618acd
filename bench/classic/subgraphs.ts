import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { parse, type GraphQLSchema } from 'graphql';
import { byKey, classicProducts, classicReviews, classicStock, classicUsers, groupBy, type Product, type Review, type User } from './data.js';

// The four subgraphs of the classic federation workload (accounts, products, inventory, reviews):
// entities across subgraphs, a @requires and a @provides, resolved from in-memory maps.

const federation = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires", "@provides", "@shareable"])';

export interface ClassicSubgraph {
  readonly name: string;
  readonly typeDefs: string;
  readonly schema: () => GraphQLSchema;
}

const usersById = byKey(classicUsers, 'id');
const productsByUpc = byKey(classicProducts, 'upc');
const stockByUpc = byKey(classicStock, 'upc');
const reviewsByAuthor = groupBy(classicReviews, 'authorId');
const reviewsByUpc = groupBy(classicReviews, 'upc');

const accounts = /* GraphQL */ `
  ${federation}
  type Query { me: User user(id: ID!): User users: [User] }
  type User @key(fields: "id") { id: ID! name: String username: String @shareable birthday: Int }
`;

const productsSdl = /* GraphQL */ `
  ${federation}
  type Query { topProducts(first: Int = 5): [Product] }
  type Product @key(fields: "upc") { upc: String! name: String price: Int weight: Int }
`;

const inventory = /* GraphQL */ `
  ${federation}
  type Product @key(fields: "upc") {
    upc: String!
    weight: Int @external
    price: Int @external
    inStock: Boolean
    shippingEstimate: Int @requires(fields: "price weight")
  }
`;

const reviewsSdl = /* GraphQL */ `
  ${federation}
  type Review @key(fields: "id") { id: ID! body: String author: User @provides(fields: "username") product: Product }
  type User @key(fields: "id") { id: ID! username: String @external reviews: [Review] }
  type Product @key(fields: "upc") { upc: String! reviews: [Review] }
`;

const resolvers: Record<string, GraphQLResolverMap<unknown>> = {
  accounts: {
    Query: { me: () => classicUsers[0], user: (_: unknown, { id }: { id: string }) => usersById.get(id), users: () => classicUsers },
    User: { __resolveReference: ({ id }: { id: string }) => usersById.get(id) },
  },
  products: {
    Query: { topProducts: (_: unknown, { first }: { first: number }) => classicProducts.slice(0, first) },
    Product: { __resolveReference: ({ upc }: { upc: string }) => productsByUpc.get(upc) },
  },
  inventory: {
    Product: {
      __resolveReference: (ref: { upc: string; price?: number; weight?: number }) => ({ ...ref, inStock: stockByUpc.get(ref.upc)?.inStock ?? false }),
      // Free above 1000, else half the weight: it needs the price and weight the gateway fetched from products.
      shippingEstimate: (product: { price?: number; weight?: number }) => ((product.price ?? 0) > 1000 ? 0 : Math.round((product.weight ?? 0) * 0.5)),
    },
  },
  reviews: {
    Review: {
      __resolveReference: ({ id }: { id: string }) => classicReviews.find((review) => review.id === id),
      author: (review: Review) => ({ id: review.authorId, username: usersById.get(review.authorId)?.username }),
      product: (review: Review) => ({ upc: review.upc }),
    },
    User: { reviews: (user: Pick<User, 'id'>) => reviewsByAuthor.get(user.id) ?? [] },
    Product: { reviews: (product: Pick<Product, 'upc'>) => reviewsByUpc.get(product.upc) ?? [] },
  },
};

const sdl: Record<string, string> = { accounts, products: productsSdl, inventory, reviews: reviewsSdl };

export const classicSubgraphs: readonly ClassicSubgraph[] = Object.entries(sdl).map(([name, typeDefs]) => ({
  name,
  typeDefs,
  schema: () => buildSubgraphSchema({ typeDefs: parse(typeDefs), resolvers: resolvers[name]! }),
}));
