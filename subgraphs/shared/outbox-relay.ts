import { asc, inArray, notInArray, sql } from 'drizzle-orm';
import { ResidencyError, streamsOf, subjectOf } from '../../protocol/event-routing.js';
import type { DataClass, EventEnvelope } from '../../protocol/events.js';
import { encodeJson, type EventBus } from '../../runtime/events/bus.js';
import { relayRetryMaxMs } from '../../runtime/events/settings.js';
import { describeError } from '../../runtime/error-report.js';
import { logger } from '../../runtime/logger.js';
import type { Database, DatabaseHandle } from './db.js';
import type { OutboxTable } from './outbox-table.js';
import { rowsOf } from './rows.js';

export interface RelayOptions {
  readonly database: DatabaseHandle;
  readonly table: OutboxTable;
  /** The region of the database; null for the global catalog's. A regional event of any other region is never published. */
  readonly region: string | null;
  readonly bus: EventBus;
  readonly prefix: string;
  readonly duplicateWindowMs: number;
  /** How often the outbox is looked at (GEOFED_OUTBOX_POLL_MS). */
  readonly pollMs: number;
}

export interface RunningRelay {
  /** Publishes everything the outbox holds now; resolves to how many events it published. */
  flush(): Promise<number>;
  readonly counts: { readonly published: number; readonly duplicates: number; readonly refused: number };
  stop(): Promise<void>;
}

/** Outbox rows published in one transaction. */
const batchSize = 100;

/** The advisory lock a relay holds while it publishes: of the relays on one database, one publishes at a time, in order. */
const relayLockKey = 7_301_446_338;

/**
 * The relay of one database: publishes its outbox to JetStream in the order
 * it was written, each event under its outbox id as message id, then deletes
 * what was stored, in one transaction. A crash between the publish and the
 * commit leaves the rows, which the next relay publishes again and the
 * stream's duplicate window stores once. A failed publish is tried again
 * with a backoff of at most `relayRetryMaxMs`, shorter than that window.
 */
export function startOutboxRelay({ database, table, region, bus, prefix, duplicateWindowMs, pollMs }: RelayOptions): RunningRelay {
  const log = logger.child({ relay: region ?? 'catalog' });
  const counts = { published: 0, duplicates: 0, refused: 0 };
  /** Rows no relay of this database may publish (a regional event of another region): skipped, kept, logged. */
  const refused = new Set<number>();
  const streams = bus.ensureStreams(streamsOf({ prefix, regions: region === null ? [] : [region], duplicateWindowMs }));
  let running: Promise<number> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;

  async function publishBatch(): Promise<number> {
    await streams;
    const db = database.db;
    // The cheap look first: an empty outbox costs one indexed read, no transaction.
    const pending = await db.select({ seq: table.seq }).from(table).where(refused.size ? notInArray(table.seq, [...refused]) : sql`true`).limit(1);
    if (pending.length === 0) return 0;
    return db.transaction(async (transaction) => {
      const tx = transaction as unknown as Database;
      const [lock] = await rowsOf<{ locked: boolean }>(tx, sql`select pg_try_advisory_xact_lock(${relayLockKey}) as locked`);
      if (!lock?.locked) return 0;
      const rows = await tx.select().from(table).where(refused.size ? notInArray(table.seq, [...refused]) : sql`true`).orderBy(asc(table.seq)).limit(batchSize);
      const done: number[] = [];
      for (const row of rows) {
        const event: EventEnvelope = { id: row.id, type: row.type, dataClass: row.dataClass as DataClass, region: row.region, tenantId: row.tenantId, entity: row.entity, occurredAt: row.occurredAt.toISOString(), data: row.data };
        let subject: string;
        try {
          subject = subjectOf(event, prefix, region);
        } catch (error) {
          if (!(error instanceof ResidencyError)) throw error;
          refused.add(row.seq);
          counts.refused += 1;
          log.error({ event_id: event.id, event_type: event.type, outbox_seq: row.seq, reason: error.message }, 'refused to publish an event outside its region; it stays in the outbox');
          continue;
        }
        const ack = await bus.publish(subject, encodeJson(event), event.id);
        if (ack.duplicate) counts.duplicates += 1;
        done.push(row.seq);
      }
      if (done.length > 0) await tx.delete(table).where(inArray(table.seq, done));
      counts.published += done.length;
      return done.length;
    });
  }

  const runOnce = () => {
    running ??= publishBatch().finally(() => {
      running = undefined;
    });
    return running;
  };

  const tick = async () => {
    let delay = pollMs;
    try {
      // A full batch means more are waiting: the next one goes at once.
      while (!stopped && (await runOnce()) >= batchSize);
      failures = 0;
    } catch (error) {
      failures += 1;
      delay = Math.min(pollMs * 2 ** failures, relayRetryMaxMs);
      log.warn({ error: describeError(error), retry_in_ms: delay }, 'outbox relay could not publish; trying again');
    }
    if (!stopped) timer = setTimeout(() => void tick(), delay);
  };
  timer = setTimeout(() => void tick(), 0);

  return {
    counts,
    async flush() {
      let total = 0;
      for (let n = await runOnce(); n > 0; n = await runOnce()) total += n;
      return total;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
