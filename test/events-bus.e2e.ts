import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deadLetterStream, globalStream, regionalStream, streamsOf } from '../protocol/event-routing.js';
import type { EventEnvelope } from '../protocol/events.js';
import { decodeJson, encodeJson, type EventBus } from '../runtime/events/bus.js';
import { startConsumer, type ConsumerOptions, type RunningConsumer } from '../runtime/events/consumer.js';
import { listDeadLetters, replayDeadLetter } from '../runtime/events/dead-letters.js';
import type { DatabaseHandle } from '../subgraphs/shared/db.js';
import { recordEvent } from '../subgraphs/shared/outbox.js';
import { startOutboxRelay, type RunningRelay } from '../subgraphs/shared/outbox-relay.js';
import { rowsOf } from '../subgraphs/shared/rows.js';
import { catalogDatabase, catalogOutbox, deleteStreamsOf, openTestBus, regionalDatabase, regionalOutbox, testPrefix, type BusKind } from './fixtures/events.js';
import { waitFor } from './fixtures/wait.js';

// Issue 17, "Data classes", "Ordering and exactly-once effects", "Dead letters", "Embedded default": the relay and
// the consumers against the real JetStream at 127.0.0.1:4222, and the same suite against the in-process bus.
const regions = ['us', 'eu', 'apac', 'latam'];
const duplicateWindowMs = 60_000;

describe.each<BusKind>(['jetstream', 'memory'])('events over the %s bus', (kind) => {
  let bus: EventBus;
  let catalog: DatabaseHandle;
  const regional = new Map<string, DatabaseHandle>();
  let prefix: string;
  const running: { stop(): Promise<void> }[] = [];

  const relay = (database: DatabaseHandle, region: string | null, over: EventBus = bus): RunningRelay => {
    const started = startOutboxRelay({ database, table: region === null ? catalogOutbox : regionalOutbox, region, bus: over, prefix, duplicateWindowMs, pollMs: 10 });
    running.push(started);
    return started;
  };
  const consumer = async (region: string, handle: ConsumerOptions['handle'], options: Partial<ConsumerOptions> = {}): Promise<RunningConsumer> => {
    const started = await startConsumer({ bus, prefix, region, name: `cache-${region}`, stream: globalStream(prefix), handle, retryDelayMs: () => 1, ...options });
    running.push(started);
    return started;
  };
  const product = (id: string, name: string) => recordEvent(catalog.db, catalogOutbox, { type: 'catalog.product.upserted', data: { id, name, priceCents: 100, currency: 'USD' } });
  const messagesOf = async (stream: string) => (await bus.read(stream)).map((m) => ({ subject: m.subject, event: decodeJson<EventEnvelope>(m.data) }));

  beforeAll(async () => {
    bus = await openTestBus(kind);
    catalog = await catalogDatabase();
    for (const region of ['eu', 'us']) regional.set(region, await regionalDatabase());
  });
  beforeEach(async () => {
    prefix = testPrefix();
    await bus.ensureStreams(streamsOf({ prefix, regions, duplicateWindowMs }));
    for (const database of [catalog, ...regional.values()]) await database.db.execute(sql`truncate outbox`);
  });
  afterEach(async () => {
    await Promise.allSettled(running.splice(0).map((r) => r.stop()));
    await deleteStreamsOf(bus, prefix);
  });
  afterAll(async () => {
    await Promise.allSettled([catalog?.close(), ...[...regional.values()].map((d) => d.close())]);
    await bus?.close();
  });

  it('publishes a database\'s events in the order written, one subject per entity, under their outbox ids', async () => {
    const ids = [];
    for (const [entity, name] of [['prd_a', 'a1'], ['prd_b', 'b1'], ['prd_a', 'a2'], ['prd_a', 'a3'], ['prd_b', 'b2']] as const) ids.push(await product(entity, name));
    expect(await relay(catalog, null).flush()).toBe(5);
    const stored = await messagesOf(globalStream(prefix));
    expect(stored.map((m) => [m.subject, m.event.id, m.event.data.name])).toEqual([
      [`${prefix}.global.product.prd_a`, ids[0], 'a1'],
      [`${prefix}.global.product.prd_b`, ids[1], 'b1'],
      [`${prefix}.global.product.prd_a`, ids[2], 'a2'],
      [`${prefix}.global.product.prd_a`, ids[3], 'a3'],
      [`${prefix}.global.product.prd_b`, ids[4], 'b2'],
    ]);
    expect(await rowsOf(catalog.db, sql`select id from outbox`)).toEqual([]);
    // The outbox id is the message id: the same event published again within the window is stored once.
    const again = await bus.publish(`${prefix}.global.product.prd_a`, encodeJson(stored[0]!.event), ids[0]!);
    expect(again).toMatchObject({ duplicate: true });
    expect((await bus.read(globalStream(prefix))).length).toBe(5);
  });

  it('publishes a regional event to its own region\'s stream and to no other (every stream scanned)', async () => {
    const eu = regional.get('eu')!;
    const us = regional.get('us')!;
    const profile = await recordEvent(eu.db, regionalOutbox, { type: 'users.profile.updated', region: 'eu', tenantId: 'acme', data: { userId: 'usr_acme_1', tenantId: 'acme', name: 'Ada' } });
    const order = await recordEvent(us.db, regionalOutbox, { type: 'orders.order.placed', region: 'us', tenantId: 'globex', data: { orderId: 'ord_1', tenantId: 'globex', userId: 'usr_globex_1', totalCents: 100, lines: 1 } });
    const change = await product('prd_c', 'c1');
    // Rows no relay may publish where they are: a US event in the EU database, a regional event in the catalog.
    const strayId = randomUUID();
    await eu.db.execute(sql`insert into outbox (id, type, data_class, region, tenant_id, entity, data) values (${strayId}, 'users.profile.updated', 'regional', 'us', 'globex', 'user:usr_globex_1', ${JSON.stringify({ userId: 'usr_globex_1', tenantId: 'globex', name: 'Bo' })}::jsonb)`);
    const lostId = randomUUID();
    await catalog.db.execute(sql`insert into outbox (id, type, data_class, region, tenant_id, entity, data) values (${lostId}, 'users.profile.updated', 'regional', 'eu', 'acme', 'user:usr_acme_1', ${JSON.stringify({ userId: 'usr_acme_1', tenantId: 'acme', name: 'Ada' })}::jsonb)`);
    const relays = [relay(catalog, null), relay(eu, 'eu'), relay(us, 'us')];
    expect(await Promise.all(relays.map((r) => r.flush()))).toEqual([1, 1, 1]);
    const where = new Map<string, string[]>();
    const streams = await bus.streams(`${prefix.toUpperCase()}_`);
    expect(streams.map((s) => s.name).sort()).toEqual(streamsOf({ prefix, regions, duplicateWindowMs }).map((s) => s.name).sort());
    for (const stream of streams) for (const m of await messagesOf(stream.name)) where.set(m.event.id, [...(where.get(m.event.id) ?? []), stream.name]);
    expect(Object.fromEntries(where)).toEqual({ [profile]: [regionalStream(prefix, 'eu')], [order]: [regionalStream(prefix, 'us')], [change]: [globalStream(prefix)] });
    expect(relays.map((r) => r.counts.refused)).toEqual([1, 1, 0]);
    // Refused rows stay where they are, for an operator to see; nothing else waits behind them.
    expect(await rowsOf(eu.db, sql`select id from outbox`)).toEqual([{ id: strayId }]);
    expect(await rowsOf(catalog.db, sql`select id from outbox`)).toEqual([{ id: lostId }]);
  });

  it('loses nothing and stores nothing twice when the relay dies between the publish and the commit', async () => {
    const ids = [];
    for (let i = 0; i < 20; i += 1) ids.push(await product(`prd_${i % 3}`, `n${i}`));
    // A relay that dies after JetStream stored its 7th message, before its transaction commits.
    let published = 0;
    const dying: EventBus = {
      ...bus,
      async publish(subject, data, msgId) {
        const ack = await bus.publish(subject, data, msgId);
        published += 1;
        if (published === 7) throw new Error('the relay process died');
        return ack;
      },
    };
    const first = relay(catalog, null, dying);
    await expect(first.flush()).rejects.toThrow('the relay process died');
    await first.stop();
    expect((await rowsOf(catalog.db, sql`select id from outbox`)).length).toBe(20);
    expect((await bus.read(globalStream(prefix))).length).toBe(7);
    const second = relay(catalog, null);
    expect(await second.flush()).toBe(20);
    expect(second.counts).toEqual({ published: 20, duplicates: 7, refused: 0 });
    expect((await messagesOf(globalStream(prefix))).map((m) => m.event.id)).toEqual(ids);
  });

  it('delivers a catalog change to every region\'s consumer once, in order, and after a consumer restarts too', async () => {
    const seen = new Map<string, string[]>(regions.map((r) => [r, []]));
    const handler = (region: string) => async (event: EventEnvelope) => {
      seen.get(region)!.push(`${event.entity}/${String(event.data.name)}`);
    };
    const consumers = new Map<string, RunningConsumer>();
    for (const region of regions) consumers.set(region, await consumer(region, handler(region)));
    relay(catalog, null);
    for (const [id, name] of [['prd_a', 'a1'], ['prd_b', 'b1'], ['prd_a', 'a2'], ['prd_b', 'b2'], ['prd_a', 'a3']] as const) await product(id, name);
    await waitFor(() => regions.every((r) => seen.get(r)!.length === 5), { what: 'every region consumed 5 events', timeoutMs: 10_000 });
    await consumers.get('eu')!.stop();
    await product('prd_a', 'a4');
    await product('prd_b', 'b3');
    await waitFor(() => ['us', 'apac', 'latam'].every((r) => seen.get(r)!.length === 7), { what: 'the running regions consumed 7 events', timeoutMs: 10_000 });
    expect(seen.get('eu')!.length).toBe(5);
    consumers.set('eu', await consumer('eu', handler('eu')));
    await waitFor(() => seen.get('eu')!.length >= 7, { what: 'the restarted eu consumer caught up', timeoutMs: 10_000 });
    const expected = ['a1', 'b1', 'a2', 'b2', 'a3', 'a4', 'b3'];
    for (const region of regions) {
      const got = seen.get(region)!;
      // Each event once; each entity's events in the order written (entities may interleave).
      expect([...got].sort(), region).toEqual(expected.map((n) => `product:prd_${n[0]}/${n}`).sort());
      for (const entity of ['a', 'b']) expect(got.filter((s) => s.startsWith(`product:prd_${entity}/`)), `${region} ${entity}`).toEqual(expected.filter((n) => n[0] === entity).map((n) => `product:prd_${entity}/${n}`));
    }
  });

  it('handles one entity\'s events one at a time while other entities go on', async () => {
    const handled: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await consumer('eu', async (event) => {
      if (event.data.name === 'a1') await held;
      handled.push(String(event.data.name));
    });
    relay(catalog, null);
    for (const [id, name] of [['prd_a', 'a1'], ['prd_a', 'a2'], ['prd_b', 'b1'], ['prd_b', 'b2']] as const) await product(id, name);
    await waitFor(() => handled.length === 2, { what: 'the other entity\'s events were handled', timeoutMs: 10_000 });
    expect(handled).toEqual(['b1', 'b2']);
    release();
    await waitFor(() => handled.length === 4, { what: 'the held entity\'s events were handled', timeoutMs: 10_000 });
    expect(handled).toEqual(['b1', 'b2', 'a1', 'a2']);
  });

  it('dead-letters a poison event in the consumer\'s region after its attempts, goes on with its entity, and replays it', async () => {
    const handled = new Map<string, string[]>([['eu', []], ['us', []]]);
    let poisoned = true;
    const registry = new Registry();
    const euConsumer = await consumer(
      'eu',
      async (event) => {
        if (poisoned && event.data.name === 'p1') throw new Error('the price service refused p1');
        handled.get('eu')!.push(String(event.data.name));
      },
      { maxAttempts: 3, registry },
    );
    const usConsumer = await consumer('us', async (event) => void handled.get('us')!.push(String(event.data.name)));
    relay(catalog, null);
    const poison = await product('prd_x', 'p1');
    await product('prd_x', 'p2');
    await waitFor(() => handled.get('eu')!.includes('p2') && handled.get('us')!.length === 2, { what: 'p2 handled in eu behind the dead letter, both in us', timeoutMs: 10_000 });
    const [stored] = (await bus.read(globalStream(prefix))).filter((m) => decodeJson<EventEnvelope>(m.data).id === poison);
    const letters = await listDeadLetters(bus, prefix, 'eu');
    expect(letters).toEqual([
      {
        id: 1,
        consumer: 'cache-eu',
        region: 'eu',
        stream: globalStream(prefix),
        streamSeq: stored!.seq,
        subject: `${prefix}.global.product.prd_x`,
        attempts: 3,
        error: 'Error: the price service refused p1',
        deadAt: expect.any(String),
        event: expect.objectContaining({ id: poison, type: 'catalog.product.upserted', data: { id: 'prd_x', name: 'p1', priceCents: 100, currency: 'USD' } }),
      },
    ]);
    expect(await listDeadLetters(bus, prefix, 'us')).toEqual([]);
    expect(await registry.getSingleMetricAsString('geofed_events_dead_letters_total')).toMatch(/geofed_events_dead_letters_total\{consumer="cache-eu"\} 1/);
    poisoned = false;
    const replayed = await replayDeadLetter(bus, prefix, 'eu', 1);
    expect(replayed).toMatchObject({ stream: globalStream(prefix), duplicate: false, event: { id: poison, replayFor: 'cache-eu' } });
    await waitFor(() => handled.get('eu')!.includes('p1') && usConsumer.counts.duplicates === 1, { what: 'eu handled the replay, us passed it by', timeoutMs: 10_000 });
    expect(handled.get('eu')).toEqual(['p2', 'p1']);
    expect(handled.get('us')).toEqual(['p1', 'p2']);
    expect(euConsumer.counts).toEqual({ handled: 2, duplicates: 0, deadLettered: 1 });
    // The replay's message id names the dead letter: replayed twice, it is stored once.
    expect(await replayDeadLetter(bus, prefix, 'eu', 1)).toMatchObject({ duplicate: true });
    await expect(replayDeadLetter(bus, prefix, 'eu', 9)).rejects.toThrow(`no dead letter 9 in ${deadLetterStream(prefix, 'eu')}`);
  });

  it('dead-letters a message that is no event at once, with its text', async () => {
    const euConsumer = await consumer('eu', async () => undefined);
    await bus.publish(`${prefix}.global.product.prd_y`, new TextEncoder().encode('not json'), randomUUID());
    await waitFor(() => euConsumer.counts.deadLettered === 1, { what: 'the unreadable message was dead-lettered', timeoutMs: 10_000 });
    expect(await listDeadLetters(bus, prefix, 'eu')).toMatchObject([{ attempts: 1, event: null, raw: 'not json', subject: `${prefix}.global.product.prd_y` }]);
    await expect(replayDeadLetter(bus, prefix, 'eu', 1)).rejects.toThrow('holds no readable event');
  });
});
