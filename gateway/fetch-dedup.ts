import { createHash } from 'node:crypto';
import type { FetcherRequestInit, FetcherResponse } from '@apollo/utils.fetcher';
import { FetchAbandoned } from './fetch-limiter.js';

/**
 * What makes two fetches the same one: everything the subgraph would see of
 * it before signing (method, URL, every header, so the caller's context
 * headers: tenant, user, roles, region, consistency token; the exact body
 * bytes), and whose share of the slots it takes (the tenant, or an anonymous
 * client's address). Two callers never share a fetch, however alike their
 * requests.
 */
export function fetchIdentity(url: string, init: FetcherRequestInit, key: string): string {
  const headers = Object.entries(init.headers ?? {})
    .map(([name, value]) => `${name.toLowerCase()}:${value}`)
    .sort();
  const hash = createHash('sha256');
  for (const part of [init.method ?? 'GET', url, key, ...headers]) hash.update(part).update('\0');
  hash.update('\0').update(init.body ?? '');
  return hash.digest('base64');
}

/**
 * In-flight deduplication: while a fetch is queued or in flight, an identical
 * one (same `fetchIdentity`) waits for its answer instead of being sent. Each
 * caller reads its own copy of the response. Nothing is kept once the answer
 * is in: this is never a cache. The shared fetch is abandoned only when every
 * caller waiting for it went away; one caller leaving never fails the others.
 */
export class FetchDedup {
  private readonly inFlight = new Map<string, SharedFetch>();

  /** Fetches being shared right now. */
  get size(): number {
    return this.inFlight.size;
  }

  /**
   * The answer of the fetch `identity`: joined when one is in flight (`joined`),
   * else sent with `send`, which receives the signal that aborts once every
   * caller of it went away.
   */
  run(identity: string, signal: AbortSignal | undefined, send: (signal: AbortSignal) => Promise<FetcherResponse>): { readonly response: Promise<FetcherResponse>; readonly joined: boolean } {
    if (signal?.aborted) return { response: Promise.reject(new FetchAbandoned()), joined: false };
    const existing = this.inFlight.get(identity);
    if (existing) return { response: existing.join(signal), joined: true };
    const shared = new SharedFetch(send, () => {
      if (this.inFlight.get(identity) === shared) this.inFlight.delete(identity);
    });
    this.inFlight.set(identity, shared);
    return { response: shared.join(signal), joined: false };
  }
}

class SharedFetch {
  private callers = 0;
  private readonly controller = new AbortController();
  private readonly answer: Promise<FetcherResponse>;

  constructor(
    send: (signal: AbortSignal) => Promise<FetcherResponse>,
    private readonly forget: () => void,
  ) {
    this.answer = send(this.controller.signal);
    // Each caller handles the outcome through join(); this only ends the sharing.
    this.answer.then(forget, forget);
  }

  join(signal: AbortSignal | undefined): Promise<FetcherResponse> {
    this.callers += 1;
    return new Promise<FetcherResponse>((resolve, reject) => {
      let done = false;
      const leave = () => {
        done = true;
        signal?.removeEventListener('abort', onAbort);
        this.callers -= 1;
      };
      const onAbort = () => {
        if (done) return;
        leave();
        if (this.callers === 0) {
          // Nobody waits for it any more: later callers start a fetch of their own.
          this.forget();
          this.controller.abort();
        }
        reject(new FetchAbandoned());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.answer.then(
        (response) => {
          if (done) return;
          leave();
          resolve(response.clone());
        },
        (error: unknown) => {
          if (done) return;
          leave();
          reject(error as Error);
        },
      );
    });
  }
}
