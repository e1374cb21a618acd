// The classic workload's data, generated the same on every run: enough users, products and reviews
// that the deep query of query.ts answers about 70 KB (checked by bench/classic.ts before measuring).

export interface User { readonly id: string; readonly name: string; readonly username: string; readonly birthday: number }
export interface Product { readonly upc: string; readonly name: string; readonly price: number; readonly weight: number }
export interface Review { readonly id: string; readonly body: string; readonly authorId: string; readonly upc: string }
export interface Stock { readonly upc: string; readonly inStock: boolean }

const userCount = 8;
const productCount = 6;
const reviewsPerUser = 3;

const names = ['Ada Lovelace', 'Alan Turing', 'Grace Hopper', 'Edsger Dijkstra', 'Barbara Liskov', 'Donald Knuth', 'Frances Allen', 'Ken Thompson', 'Radia Perlman', 'John Backus'];
const productNames = ['Table', 'Couch', 'Chair', 'Lamp', 'Shelf', 'Desk'];
const opinions = ['Love it!', 'Too expensive for what it is.', 'Could be better, could be worse.', 'Prefer something else.', 'Exactly as described, would buy again.'];

export const classicUsers: readonly User[] = Array.from({ length: userCount }, (_, i) => ({
  id: String(i + 1),
  name: names[i % names.length]!,
  username: `@${names[i % names.length]!.split(' ')[0]!.toLowerCase()}${i + 1}`,
  birthday: 1_900_000_000 - i * 86_400_000,
}));

export const classicProducts: readonly Product[] = Array.from({ length: productCount }, (_, i) => ({
  upc: String(i + 1),
  name: productNames[i % productNames.length]!,
  price: 100 + ((i * 379) % 1500),
  weight: 10 + ((i * 97) % 1000),
}));

export const classicReviews: readonly Review[] = classicUsers.flatMap((user, u) =>
  Array.from({ length: reviewsPerUser }, (_, r) => {
    const n = u * reviewsPerUser + r;
    return { id: String(n + 1), body: opinions[n % opinions.length]!, authorId: user.id, upc: classicProducts[n % productCount]!.upc };
  }),
);

export const classicStock: readonly Stock[] = classicProducts.map((product, i) => ({ upc: product.upc, inStock: i % 3 !== 2 }));

/** `rows` by `key`, and `rows` grouped by `group`: what the resolvers look up. */
export function byKey<T, K extends keyof T>(rows: readonly T[], key: K): Map<T[K], T> {
  return new Map(rows.map((row) => [row[key], row]));
}

export function groupBy<T, K extends keyof T>(rows: readonly T[], key: K): Map<T[K], T[]> {
  const groups = new Map<T[K], T[]>();
  for (const row of rows) groups.set(row[key], [...(groups.get(row[key]) ?? []), row]);
  return groups;
}
