// The seed data (README, "First queries"), computed rather than stored so that ids are
// deterministic: `npm run token` names a tenant's first user without opening a database.

export interface SeedTenant { id: string; name: string; region: string; billingPlan: string; status: 'active' | 'suspended' }
export interface SeedBillingPlan { id: string; name: string }
export interface SeedProduct { id: string; name: string; priceCents: number; currency: string }
export interface SeedUser { id: string; tenantId: string; email: string; name: string }
export interface SeedOrderItem { line: number; productId: string; quantity: number; unitPriceCents: number }
export interface SeedOrder { id: string; tenantId: string; userId: string; status: string; totalCents: number; createdAt: Date; items: SeedOrderItem[] }

export const seedBillingPlans: readonly SeedBillingPlan[] = [
  { id: 'free', name: 'Free' },
  { id: 'pro', name: 'Pro' },
  { id: 'enterprise', name: 'Enterprise' },
];

export const seedTenants: readonly SeedTenant[] = [
  { id: 'acme', name: 'Acme GmbH', region: 'eu', billingPlan: 'pro', status: 'active' },
  { id: 'globex', name: 'Globex Corporation', region: 'us', billingPlan: 'enterprise', status: 'active' },
  { id: 'initech', name: 'Initech Pte Ltd', region: 'apac', billingPlan: 'free', status: 'active' },
  { id: 'umbrella', name: 'Umbrella Ltda', region: 'latam', billingPlan: 'pro', status: 'active' },
];

const peopleByTenant: Readonly<Record<string, readonly string[]>> = {
  acme: ['Ada Lovelace', 'Bruno Keller', 'Clara Schmidt'],
  globex: ['Grace Hopper', 'Hank Scorpio', 'Frank Grimes'],
  initech: ['Peter Gibbons', 'Samir Nagheenanajar', 'Milton Waddams'],
  umbrella: ['Jill Valentine', 'Carlos Oliveira', 'Alice Abernathy'],
};

const productNames = [
  'Anvil', 'Rocket Skates', 'Giant Magnet', 'Tornado Seeds', 'Earthquake Pills', 'Portable Hole',
  'Dehydrated Boulders', 'Bird Seed', 'Jet Bike', 'Spring Shoes', 'Invisible Paint', 'Bat Suit',
  'Instant Icicle Maker', 'Super Outfit', 'Glue V1', 'Triple Strength Fortified Leg Muscle Vitamins',
  'Iron Carrot', 'Do-It-Yourself Tornado Kit', 'Rocket Sled', 'Hi-Speed Tonic', 'Axle Grease',
  'Detonator', 'Catapult', 'Red Stapler',
] as const;

export const seedProducts: readonly SeedProduct[] = productNames.map((name, index) => ({
  id: `prd_${String(index + 1).padStart(2, '0')}`,
  name,
  priceCents: 499 + ((index * 1_337) % 9_500),
  currency: 'USD',
}));

export const seedUsers: readonly SeedUser[] = seedTenants.flatMap((tenant) =>
  (peopleByTenant[tenant.id] ?? []).map((name, index) => ({
    id: `usr_${tenant.id}_${index + 1}`,
    tenantId: tenant.id,
    email: `${name.toLowerCase().replace(/[^a-z]+/g, '.')}@${tenant.id}.example`,
    name,
  })),
);

const statuses = ['delivered', 'shipped', 'paid'] as const;
const firstOrderDate = Date.UTC(2025, 0, 1);
const dayMs = 86_400_000;

/** The first user of each tenant has 20 orders of 3 to 5 items; every other user has 2 orders of 1 or 2 items. */
export const seedOrders: readonly SeedOrder[] = seedUsers.flatMap((user, userIndex) => {
  const isFirstOfTenant = user.id.endsWith('_1');
  const orderCount = isFirstOfTenant ? 20 : 2;
  return Array.from({ length: orderCount }, (_, orderIndex): SeedOrder => {
    const itemCount = isFirstOfTenant ? 3 + (orderIndex % 3) : 1 + (orderIndex % 2);
    const items = Array.from({ length: itemCount }, (_, line): SeedOrderItem => {
      const product = seedProducts[(userIndex * 7 + orderIndex * 3 + line * 5) % seedProducts.length]!;
      return { line: line + 1, productId: product.id, quantity: 1 + ((orderIndex + line) % 3), unitPriceCents: product.priceCents };
    });
    return {
      id: `ord_${user.id.slice(4)}_${String(orderIndex + 1).padStart(2, '0')}`,
      tenantId: user.tenantId,
      userId: user.id,
      status: statuses[orderIndex % statuses.length]!,
      totalCents: items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0),
      createdAt: new Date(firstOrderDate + (userIndex * 31 + orderIndex) * dayMs),
      items,
    };
  });
});

export function tenantsOfRegion(region: string): Set<string> {
  return new Set(seedTenants.filter((tenant) => tenant.region === region).map((tenant) => tenant.id));
}

export function firstUserOf(tenantId: string): SeedUser | undefined {
  return seedUsers.find((user) => user.tenantId === tenantId);
}
