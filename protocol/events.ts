// The event types the deployables publish and consume, declared once: what each carries, which of its
// fields hold personal data, and where it may travel. The relay routes by these declarations
// (event-routing.ts) and `npm run schema:check` holds them to the supergraph's pii tags.

/**
 * `global`: may be replicated to every region (catalog changes: configuration and metadata).
 * `regional`: stays in its home region's stream, because it carries a tenant's users' data.
 */
export type DataClass = 'global' | 'regional';

export interface EventField {
  /** The field holds personal data: only a `regional` event may carry it. @default false */
  readonly pii?: boolean;
  /** The GraphQL field (`Type.field`) whose value it copies: the schema check requires `pii` when that field is tagged pii. */
  readonly from?: string;
}

export interface EventType {
  readonly dataClass: DataClass;
  /** Events of one entity keep their order: its kind, and the data field that holds its id. */
  readonly entity: { readonly kind: string; readonly key: string };
  /** Every field of the event's data; an event whose data has any other field is refused before it is written. */
  readonly fields: Readonly<Record<string, EventField>>;
}

/** Every event type, by name (`<subgraph>.<entity>.<what happened>`). */
export const eventTypes = {
  'catalog.product.upserted': {
    dataClass: 'global',
    entity: { kind: 'product', key: 'id' },
    fields: { id: { from: 'Product.id' }, name: { from: 'Product.name' }, priceCents: { from: 'Product.priceCents' }, currency: { from: 'Product.currency' } },
  },
  'catalog.tenant.status-changed': {
    dataClass: 'global',
    entity: { kind: 'tenant', key: 'tenantId' },
    fields: { tenantId: { from: 'Tenant.id' }, region: { from: 'Tenant.region' }, status: {} },
  },
  'users.profile.updated': {
    dataClass: 'regional',
    entity: { kind: 'user', key: 'userId' },
    fields: { userId: { from: 'User.id' }, tenantId: {}, name: { pii: true, from: 'User.name' } },
  },
  'orders.order.placed': {
    dataClass: 'regional',
    entity: { kind: 'order', key: 'orderId' },
    fields: { orderId: { from: 'Order.id' }, tenantId: {}, userId: { from: 'User.id' }, totalCents: { from: 'Order.totalCents' }, lines: {} },
  },
} as const satisfies Readonly<Record<string, EventType>>;

export type EventTypeName = keyof typeof eventTypes;
export type EventCatalogue = Readonly<Record<string, EventType>>;

/** One event as it travels: the outbox row's id is its id, and JetStream's message id. */
export interface EventEnvelope {
  readonly id: string;
  readonly type: string;
  readonly dataClass: DataClass;
  /** The home region of a regional event (the only region it may reach); null for a global one. */
  readonly region: string | null;
  /** The tenant whose data it is, or that it is about. */
  readonly tenantId: string | null;
  /** `<kind>:<id>`: the unit of ordering. */
  readonly entity: string;
  readonly occurredAt: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** Set on an event replayed from a dead letter: only that consumer handles it again. */
  readonly replayFor?: string;
}

export function isEventTypeName(name: string): name is EventTypeName {
  return Object.hasOwn(eventTypes, name);
}

/**
 * Why `data` cannot be an event of `type`, or undefined when it can: an
 * unknown type, a field the declaration lacks (it could carry anything,
 * personal data included), a missing one, or a regional event without its
 * home region.
 */
export function eventProblem(type: string, data: Readonly<Record<string, unknown>>, region: string | null, catalogue: EventCatalogue = eventTypes): string | undefined {
  const declared = Object.hasOwn(catalogue, type) ? catalogue[type] : undefined;
  if (!declared) return `"${type}" is not a declared event type (protocol/events.ts)`;
  const extra = Object.keys(data).filter((field) => !Object.hasOwn(declared.fields, field));
  if (extra.length > 0) return `${type} declares no field ${extra.map((f) => `"${f}"`).join(', ')}`;
  const missing = Object.keys(declared.fields).filter((field) => data[field] === undefined);
  if (missing.length > 0) return `${type} needs ${missing.map((f) => `"${f}"`).join(', ')}`;
  if (declared.dataClass === 'regional' && !region) return `${type} is regional: it needs its home region`;
  if (declared.dataClass === 'global' && region) return `${type} is global: it has no home region`;
  return undefined;
}

/** The entity an event is about (`product:prd_1`), from the field its type names. */
export function entityOf(type: EventTypeName, data: Readonly<Record<string, unknown>>): string {
  const { kind, key } = eventTypes[type].entity;
  return `${kind}:${String(data[key])}`;
}
