import { sql } from 'drizzle-orm';
import { Counter, Gauge, Registry } from 'prom-client';
import type { ReplicaHealth } from '../../protocol/health.js';
import type { ReplicaSettings } from '../settings.js';
import { describeError } from '../../runtime/error-report.js';
import { logger } from '../../runtime/logger.js';
import type { Database, DatabaseHandle } from '../shared/db.js';
import { isConnectionFailure } from '../shared/db-errors.js';
import { rowsOf } from '../shared/rows.js';
import { writes } from './primary.js';

export interface ReadRouterOptions {
  readonly region: string;
  readonly primary: DatabaseHandle;
  /** The region's streaming replica; without one every read goes to the primary (embedded mode). */
  readonly replica?: DatabaseHandle;
  readonly settings: ReplicaSettings;
}

type ReadTarget = 'replica' | 'primary';

/**
 * Chooses, per request, where the catalog instance of a region reads: its
 * local replica while that is up and not too far behind, and for a request
 * that carries a consistency token only once the replica has replayed past it
 * (waiting up to `consistencyWaitMs`, then reading the primary instead).
 * Writes always go to the primary.
 */
export class ReadRouter {
  readonly metrics = new Registry();
  private healthy = true;
  /** WAL bytes behind the primary at the last check that could measure it. */
  private lagBytes: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly log;
  private readonly reads = new Counter({
    name: 'geofed_catalog_reads_total',
    help: 'Catalog requests by the server that served their reads and why.',
    labelNames: ['target', 'reason'] as const,
    registers: [this.metrics],
  });
  private readonly replicaHealthy = new Gauge({
    name: 'geofed_catalog_replica_healthy',
    help: '1 while the region\'s replica is in the read path.',
    registers: [this.metrics],
  });
  private readonly replicaLag = new Gauge({
    name: 'geofed_catalog_replica_lag_bytes',
    help: 'WAL bytes the region\'s replica had not replayed at its last health check (pg_wal_lsn_diff of the primary\'s position and the replica\'s replay); no sample while unknown.',
    registers: [this.metrics],
  });

  constructor(private readonly options: ReadRouterOptions) {
    this.log = logger.child({ subgraph: 'catalog', region: options.region });
    this.replicaHealthy.set(options.replica ? 1 : 0);
  }

  /**
   * Runs `work` on the chosen server. On a replica it runs in one transaction,
   * whose start doubles as the liveness probe: a replica that cannot open one
   * sends the read to the primary. A read in flight when the replica dies
   * (its transaction cannot commit, and the replica no longer answers) runs
   * again, once, on the primary, so the client sees no error; a request that
   * wrote is never run twice. On the primary it runs without a transaction,
   * so a write in the same request (on the primary's own connection, which
   * PGlite has only one of) commits at once and its token covers it.
   */
  async read<T>(token: string | undefined, work: (db: Database) => Promise<T>): Promise<T> {
    const { replica, primary } = this.options;
    const [target, reason] = replica && this.healthy ? await this.replicaFor(token, replica.db) : (['primary', replica ? 'replica unhealthy' : 'no replica'] as const);
    if (target === 'replica' && replica) {
      let started = false;
      const scope = { wrote: false };
      try {
        return await writes.run(scope, () =>
          replica.db.transaction((tx) => {
            started = true;
            return work(tx as unknown as Database);
          }),
        );
      } catch (error) {
        if (started && (scope.wrote || !(isConnectionFailure(error) || !(await this.replicaAnswers())))) throw error;
        this.markUnhealthy(started ? 'the connection died during a read' : 'cannot open a transaction', error);
        return this.count('primary', started ? 'replica failed during the read' : 'replica failed', () => work(primary.db));
      } finally {
        if (started) this.reads.inc({ target: 'replica', reason });
      }
    }
    return this.count(target, reason, () => work(primary.db));
  }

  private async count<T>(target: ReadTarget, reason: string, work: () => Promise<T>): Promise<T> {
    this.reads.inc({ target, reason });
    return work();
  }

  private async replicaFor(token: string | undefined, replica: Database): Promise<readonly [ReadTarget, string]> {
    if (token === undefined) return ['replica', 'local'];
    const deadline = Date.now() + this.options.settings.consistencyWaitMs;
    try {
      for (;;) {
        const [row] = await rowsOf<{ caught_up: boolean }>(replica, sql`select coalesce(pg_last_wal_replay_lsn() >= ${token}::pg_lsn, false) as caught_up`);
        if (row?.caught_up) return ['replica', 'caught up with token'];
        if (Date.now() >= deadline) return ['primary', 'replica behind token'];
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } catch (error) {
      this.markUnhealthy('cannot check replay', error);
      return ['primary', 'replica failed'];
    }
  }

  /** Checks the replica every `healthCheckIntervalMs`: reachable, in recovery, and within `maxLagBytes` of the primary. */
  start(): void {
    if (!this.options.replica || this.timer) return;
    this.timer = setInterval(() => void this.checkHealth(), this.options.settings.healthCheckIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The replica as the last health check found it, for the gateway's probe (protocol/health.ts); null without a replica. */
  replicaHealth(): ReplicaHealth | null {
    return this.options.replica ? { healthy: this.healthy, lagBytes: this.lagBytes } : null;
  }

  async checkHealth(): Promise<void> {
    const { replica, primary, settings } = this.options;
    if (!replica) return;
    try {
      const [replicaRow] = await rowsOf<{ replayed: string | null; in_recovery: boolean }>(replica.db, sql`select pg_last_wal_replay_lsn()::text as replayed, pg_is_in_recovery() as in_recovery`);
      if (!replicaRow?.in_recovery || replicaRow.replayed === null) {
        this.measuredLag(null);
        return this.markUnhealthy('not a streaming replica');
      }
      const [lag] = await rowsOf<{ bytes: string | number }>(primary.db, sql`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${replicaRow.replayed}::pg_lsn) as bytes`);
      this.measuredLag(Math.max(0, Number(lag?.bytes ?? 0)));
      if (Number(lag?.bytes ?? 0) > settings.maxLagBytes) return this.markUnhealthy(`lags ${lag?.bytes} bytes behind the primary`);
      this.markHealthy();
    } catch (error) {
      // With the primary down the lag is unknown; a reachable replica keeps serving reads.
      this.measuredLag(null);
      if (await this.replicaAnswers()) return this.markHealthy();
      this.markUnhealthy('the health check failed', error);
      // A pool whose server went away can be left broken by the driver; the next check starts on fresh connections.
      await replica.reconnect();
    }
  }

  private measuredLag(bytes: number | null): void {
    this.lagBytes = bytes;
    if (bytes === null) this.replicaLag.reset();
    else this.replicaLag.set(bytes);
  }

  private async replicaAnswers(): Promise<boolean> {
    try {
      await rowsOf(this.options.replica!.db, sql`select 1`);
      return true;
    } catch {
      return false;
    }
  }

  private markUnhealthy(reason: string, error?: unknown): void {
    if (this.healthy) this.log.warn({ reason, ...(error === undefined ? {} : { error: describeError(error) }) }, 'replica taken out of the read path; reading the primary');
    this.healthy = false;
    this.replicaHealthy.set(0);
  }

  private markHealthy(): void {
    if (!this.healthy) this.log.info('replica back in the read path');
    this.healthy = true;
    this.replicaHealthy.set(1);
  }
}
