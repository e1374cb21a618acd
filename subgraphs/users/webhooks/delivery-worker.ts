import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { Agent, request } from 'undici';
import { describeError } from '../../../runtime/error-report.js';
import { logger } from '../../../runtime/logger.js';
import type { Database, DatabaseHandle } from '../../shared/db.js';
import { rowsOf } from '../../shared/rows.js';
import { retryDelayMs, type WebhookSettings } from './settings.js';
import { checkWebhookUrl, guardedLookup } from './target-check.js';

export interface DeliveryWorkerOptions {
  /** The region's database: the worker delivers for every tenant in it, from this region only. */
  readonly database: DatabaseHandle;
  readonly settings: WebhookSettings;
  /** @default Math.random (the jitter) */
  readonly random?: () => number;
}

export interface RunningDeliveryWorker {
  /** Deliveries were queued: look now rather than at the next poll. */
  nudge(): void;
  stop(): Promise<void>;
}

interface Due {
  id: string;
  tenant_id: string;
  payload: Record<string, unknown>;
  attempts: number;
  attempt_limit: number;
  url: string;
  secret: string;
}

/**
 * Delivers a region's pending webhooks: each due delivery is leased (so that
 * the workers of several processes never try one at once, and one whose
 * worker died is tried again), POSTed signed as Standard Webhooks says, and
 * logged. A 2xx delivers it; anything else is tried again after the retry
 * schedule's wait, up to its last attempt, which makes it dead (replayable).
 * The host is resolved again at every connection and refused when it resolves
 * to an address webhooks may not reach (target-check.ts).
 */
export function startDeliveryWorker({ database, settings, random = Math.random }: DeliveryWorkerOptions): RunningDeliveryWorker {
  const log = logger.child({ worker: 'webhooks' });
  const agent = new Agent({ connect: { lookup: guardedLookup(settings.allow), timeout: settings.timeoutMs }, headersTimeout: settings.timeoutMs, bodyTimeout: settings.timeoutMs });
  const leaseMs = settings.timeoutMs + 5_000;
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let looking: Promise<void> | undefined;
  let again = false;

  async function claim(limit: number): Promise<Due[]> {
    // The worker's own clock, which schedules the next attempts too: a delivery is never tried before its time.
    const now = Date.now();
    return rowsOf<Due>(
      database.db,
      sql`update webhook_deliveries d set lease_until = ${timestamp(now + leaseMs)}
          from webhook_endpoints e
          where d.endpoint_id = e.id and d.id in (
            select id from webhook_deliveries
            where status = 'pending' and next_attempt_at <= ${timestamp(now)} and (lease_until is null or lease_until < ${timestamp(now)})
            order by next_attempt_at limit ${limit} for update skip locked)
          returning d.id, d.tenant_id, d.payload, d.attempts, d.attempt_limit, e.url, e.secret`,
    );
  }

  async function attempt(due: Due): Promise<void> {
    const attempt = due.attempts + 1;
    const body = JSON.stringify(due.payload);
    const startedAt = new Date();
    const started = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      // The URL again as written (the settings may have changed since it was registered); its addresses at connect time.
      checkWebhookUrl(due.url, settings.allow);
      const answer = await request(due.url, {
        method: 'POST',
        body,
        dispatcher: agent,
        signal: AbortSignal.timeout(settings.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'geofed-webhooks',
          'webhook-id': due.id,
          'webhook-timestamp': String(Math.floor(startedAt.getTime() / 1_000)),
          'webhook-signature': new Webhook(due.secret).sign(due.id, startedAt, body),
        },
      });
      statusCode = answer.statusCode;
      await answer.body.dump();
      if (statusCode < 200 || statusCode >= 300) error = `HTTP ${statusCode}`;
    } catch (failure) {
      error = failureText(failure);
    }
    const latencyMs = Math.round(performance.now() - started);
    const delivered = error === null;
    const dead = !delivered && attempt >= due.attempt_limit;
    // The schedule starts again after a replay: the attempt's place in its round of attempts.
    const round = attempt - (due.attempt_limit - settings.retry.maxAttempts);
    const delay = delivered || dead ? null : retryDelayMs(settings.retry, round, random);
    const status = delivered ? 'delivered' : dead ? 'dead' : 'pending';
    await database.db.transaction(async (transaction) => {
      const tx = transaction as unknown as Database;
      await tx.execute(sql`insert into webhook_attempts (delivery_id, attempt, tenant_id, started_at, status_code, error, latency_ms, retry_delay_ms)
                           values (${due.id}, ${attempt}, ${due.tenant_id}, ${timestamp(startedAt.getTime())}, ${statusCode}, ${error}, ${latencyMs}, ${delay})`);
      await tx.execute(sql`update webhook_deliveries set attempts = ${attempt}, status = ${status}, lease_until = null,
                           next_attempt_at = ${timestamp(Date.now() + (delay ?? 0))} where id = ${due.id}`);
    });
    if (dead) log.warn({ delivery: due.id, attempts: attempt }, 'webhook delivery dead after its last attempt');
  }

  async function look(): Promise<void> {
    do {
      again = false;
      const free = settings.concurrency - inFlight.size;
      if (stopped || free <= 0) return;
      for (const due of await claim(free)) {
        const running: Promise<void> = attempt(due)
          .catch((error: unknown) => log.error({ error: describeError(error), delivery: due.id }, 'webhook attempt could not be recorded; its lease expires and it is tried again'))
          .finally(() => {
            inFlight.delete(running);
            nudge();
          });
        inFlight.add(running);
      }
    } while (again);
  }

  function nudge() {
    if (stopped) return;
    if (looking) {
      again = true;
      return;
    }
    clearTimeout(timer);
    looking = look()
      .catch((error: unknown) => log.warn({ error: describeError(error) }, 'webhook worker could not read its deliveries; trying again'))
      .finally(() => {
        looking = undefined;
        if (!stopped) timer = setTimeout(nudge, settings.pollMs);
      });
  }

  nudge();
  return {
    nudge,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await looking;
      await Promise.allSettled([...inFlight]);
      await agent.close();
    },
  };
}

/** A timestamp parameter both drivers take (postgres.js under Drizzle refuses a Date in raw SQL). */
function timestamp(ms: number) {
  return sql`${new Date(ms).toISOString()}::timestamptz`;
}

/** What the delivery log says of an attempt that got no answer: never a stack, at most a line. */
function failureText(failure: unknown): string {
  const error = failure as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string; name?: string } };
  if (error?.name === 'TimeoutError' || error?.name === 'AbortError') return 'timed out';
  const cause = error?.cause?.name === 'WebhookTargetError' ? error.cause : error;
  if (cause?.name === 'WebhookTargetError') return (cause.message ?? 'refused target').slice(0, 300);
  return (error?.code ?? error?.cause?.code ?? error?.name ?? 'error').slice(0, 300);
}
