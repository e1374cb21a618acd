import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis, type Requester, type UpstashRequest, type UpstashResponse } from '@upstash/redis';
import { Pool, type Dispatcher } from 'undici';
import { settleDebits, type BucketDebit, type BucketStore, type DebitResult } from './store.js';

const script = readFileSync(new URL('./token-bucket.lua', import.meta.url), 'utf8');
const scriptSha = createHash('sha1').update(script).digest('hex');

export interface UpstashStoreOptions {
  readonly url: string;
  readonly token: string;
  /** Every request to Upstash is aborted after this, so a dead store leaves nothing pending. */
  readonly timeoutMs: number;
  /**
   * Requests in flight at once, each on a keep-alive connection of the store's own pool; debits that
   * find them all busy wait and go together in the next one. Waiting costs up to a round trip, so the
   * default leaves room for every debit of an ordinary load to go at once and batches only a flood. @default 16
   */
  readonly maxInFlight?: number;
  /**
   * The clock the script reads, in ms: for tests only. Without it the script
   * reads Redis's own TIME, the one clock every gateway shares.
   */
  readonly now?: () => number;
}

/** Most debits one /pipeline carries. */
const maxBatch = 64;

/**
 * Buckets in Upstash Redis, shared by every gateway. Each debit is one
 * EVALSHA of token-bucket.lua over all of the operation's buckets; the script
 * is loaded once when Redis answers NOSCRIPT. Debits go out at once while
 * fewer than `maxInFlight` requests are out; the ones that arrive meanwhile
 * wait for the next free connection and go together, one EVALSHA each in one
 * /pipeline (every one is still its own atomic script). A debit that waited
 * longer than the timeout is never sent.
 */
export function upstashBucketStore({ url, token, timeoutMs, maxInFlight = 16, now }: UpstashStoreOptions): BucketStore {
  const argsOf = (debits: readonly BucketDebit[]) => [now ? String(now()) : '', ...debits.flatMap((debit) => [String(debit.capacity), String(debit.refillPerSecond), String(debit.cost)])];
  // The script answers strings; the client may have turned them into numbers already.
  const resultOf = (debits: readonly BucketDebit[], reply: readonly unknown[]) => settleDebits(debits, debits.map((_, i) => Number(reply[i])), String(reply[debits.length]) === '1');
  // Keep-alive as undici does by default (the server's Keep-Alive hint, else 4 s idle); one request at a time per connection.
  const pool = new Pool(url, { connections: maxInFlight, pipelining: 1, connectTimeout: timeoutMs });
  const redis = new Redis(poolRequester(pool, token, timeoutMs));

  /** Redis's answer to each debit of a batch: one EVALSHA each, in one request (a single command when alone). */
  const ask = async (batch: readonly (readonly BucketDebit[])[]): Promise<Answer[]> => {
    if (batch.length === 1) {
      try {
        return [{ result: await redis.evalsha<string[], unknown[]>(scriptSha, batch[0]!.map((debit) => debit.key), argsOf(batch[0]!)) }];
      } catch (error) {
        if (error instanceof RedisReplyError) return [{ error: error.message }];
        throw error;
      }
    }
    const pipeline = redis.pipeline();
    for (const debits of batch) pipeline.evalsha(scriptSha, debits.map((debit) => debit.key), argsOf(debits));
    return (await pipeline.exec({ keepErrors: true })) as Answer[];
  };
  /** NOSCRIPT (Redis restarted, or SCRIPT FLUSH) changed nothing: the script is loaded and only those debits asked again. */
  const send = async (batch: readonly (readonly BucketDebit[])[]): Promise<Answer[]> => {
    const answers = await ask(batch);
    const missing = answers.flatMap((answer, i) => (answer.error?.includes('NOSCRIPT') ? [i] : []));
    if (missing.length === 0) return answers;
    await redis.scriptLoad(script);
    const again = await ask(missing.map((i) => batch[i]!));
    missing.forEach((i, j) => (answers[i] = again[j]!));
    return answers;
  };

  interface Waiting {
    readonly debits: readonly BucketDebit[];
    readonly since: number;
    resolve(result: DebitResult): void;
    reject(error: Error): void;
  }
  const waiting: Waiting[] = [];
  let inFlight = 0;
  let closed = false;
  const pump = () => {
    while (inFlight < maxInFlight && waiting.length > 0) {
      const stale = performance.now() - timeoutMs;
      const batch = waiting.splice(0, maxBatch).filter((entry) => {
        if (entry.since > stale) return true;
        entry.reject(new Error(`waited ${timeoutMs} ms for a connection to the store`));
        return false;
      });
      if (batch.length === 0) continue;
      inFlight += 1;
      send(batch.map((entry) => entry.debits)).then(
        (entries) =>
          batch.forEach((entry, i) => {
            const answer = entries[i];
            if (answer?.result) entry.resolve(resultOf(entry.debits, answer.result));
            else entry.reject(new Error(answer?.error ?? 'the store sent no answer for this debit'));
          }),
        (error: Error) => batch.forEach((entry) => entry.reject(error)),
      ).finally(() => {
        inFlight -= 1;
        pump();
      });
    }
  };
  return {
    debit(debits) {
      if (closed) return Promise.reject(new Error('the store is closed'));
      return new Promise<DebitResult>((resolve, reject) => {
        waiting.push({ debits, since: performance.now(), resolve, reject });
        pump();
      });
    },
    async close() {
      closed = true;
      for (const entry of waiting.splice(0)) entry.reject(new Error('the store is closed'));
      await pool.close();
    },
  };
}

/** What Redis answered one EVALSHA of a request. */
interface Answer {
  readonly result?: unknown[];
  readonly error?: string;
}

/** A reply Redis sent for one command (NOSCRIPT, WRONGTYPE …), as opposed to a store that cannot be reached. */
class RedisReplyError extends Error {}

/**
 * @upstash/redis's requests over an undici pool of keep-alive connections: the
 * REST protocol of Upstash (bearer token, JSON command or /pipeline of
 * commands, `{result}` or `{error}`), plain JSON replies (no base64: the
 * script's replies are digits), each request aborted after `timeoutMs`.
 */
function poolRequester(pool: Pool, token: string, timeoutMs: number): Requester {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  return {
    async request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
      // Aborted one turn of the event loop after the timeout, as the plugin gives up: a reply already received
      // (while the process was busy) is read first.
      const abort = new AbortController();
      const timer = setTimeout(() => setImmediate(() => abort.abort(new Error(`no answer within ${timeoutMs} ms`))), timeoutMs);
      let text: string;
      let response: Dispatcher.ResponseData;
      try {
        response = await pool.request({ method: 'POST', path: `/${(req.path ?? []).join('/')}`, headers, body: JSON.stringify(req.body), signal: abort.signal });
        text = await response.body.text();
      } finally {
        clearTimeout(timer);
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`the store answered HTTP ${response.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`);
      }
      if (response.statusCode === 200) return body as UpstashResponse<TResult>;
      const error = (body as { error?: unknown }).error;
      if (response.statusCode === 400 && typeof error === 'string') throw new RedisReplyError(error);
      throw new Error(`the store answered HTTP ${response.statusCode}: ${typeof error === 'string' ? error : text.slice(0, 200)}`);
    },
  };
}
