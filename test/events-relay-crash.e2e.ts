import { spawn, type ChildProcess } from 'node:child_process';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globalStream } from '../protocol/event-routing.js';
import type { EventEnvelope } from '../protocol/events.js';
import { decodeJson, type EventBus } from '../runtime/events/bus.js';
import type { DatabaseHandle } from '../subgraphs/shared/db.js';
import { recordEvent } from '../subgraphs/shared/outbox.js';
import { rowsOf } from '../subgraphs/shared/rows.js';
import { relayOutput } from './fixtures/child-output.js';
import { catalogDatabase, catalogOutbox, deleteStreamsOf, natsUrl, openTestBus, testPrefix } from './fixtures/events.js';
import { createTestDatabases, type TestDatabases } from './fixtures/postgres.js';
import { waitFor } from './fixtures/wait.js';

// Issue 17, "a crash between commit and publish loses nothing (kill the relay, restart, count)": the relay of a
// catalog instance (`npm run subgraph`, GEOFED_NATS_URL set) killed with SIGKILL while it publishes, on PostgreSQL
// and the real JetStream. The relay killed between a publish and its commit is test/events-bus.e2e.ts's case.
const events = 1_000;

describe('the outbox relay of a subgraph process killed while it publishes', () => {
  let databases: TestDatabases;
  let catalog: DatabaseHandle;
  let bus: EventBus;
  const prefix = testPrefix();
  const children: ChildProcess[] = [];

  const startCatalogProcess = () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'subgraphs/main.ts', 'catalog', '--region', 'us'], {
      env: { ...process.env, PORT: '0', GEOFED_CATALOG_DATABASE_URL: databases.urls.catalog, GEOFED_DATABASE_POOL_SIZE: '2', GEOFED_NATS_URL: natsUrl, GEOFED_EVENTS_PREFIX: prefix, GEOFED_OUTBOX_POLL_MS: '5', LOG_LEVEL: 'warn', GEOFED_AUDIT_LOG: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    relayOutput(child, 'catalog');
    return child;
  };
  const stored = async () => (await bus.streams(`${prefix.toUpperCase()}_`)).find((s) => s.name === globalStream(prefix))?.messages ?? 0;
  const left = async () => Number((await rowsOf<{ n: string }>(catalog.db, sql`select count(*)::text as n from outbox`))[0]!.n);

  beforeAll(async () => {
    bus = await openTestBus('jetstream');
    databases = await createTestDatabases(['catalog']);
    catalog = await catalogDatabase({ driver: 'postgres', url: databases.urls.catalog! });
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await deleteStreamsOf(bus, prefix);
    await bus?.close();
    await catalog?.close();
    await databases?.drop();
  });

  it('publishes every committed event exactly once after a restart', async () => {
    const written: string[] = [];
    await catalog.db.transaction(async (tx) => {
      for (let i = 0; i < events; i += 1) written.push(await recordEvent(tx as never, catalogOutbox, { type: 'catalog.product.upserted', data: { id: `prd_${i % 7}`, name: `n${i}`, priceCents: i, currency: 'USD' } }));
    });
    const first = startCatalogProcess();
    await waitFor(stored, { what: 'the first relay published something', timeoutMs: 60_000, intervalMs: 5 });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const publishedBeforeKill = await stored();
    const second = startCatalogProcess();
    await waitFor(left, { until: (n) => n === 0, what: 'the restarted relay emptied the outbox', timeoutMs: 60_000 });
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));
    const messages = await bus.read(globalStream(prefix), 1, events + 100);
    const ids = messages.map((m) => decodeJson<EventEnvelope>(m.data).id);
    // Logged when it fails: how far the first relay had got, which differs from run to run.
    console.log(`the first relay had stored ${publishedBeforeKill} of ${events} events when it was killed`);
    expect({ stored: ids.length, distinct: new Set(ids).size }).toEqual({ stored: events, distinct: events });
    expect(ids).toEqual(written);
  });
});
