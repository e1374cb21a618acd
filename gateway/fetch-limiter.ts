import type { GeofedConfig } from './config-schema.js';

/** What a limiter of one subgraph × region admits: `subgraph_limits` of supergraph.yaml but its `dedup`, which the gate reads. */
export type FetchLimiterSettings = Omit<GeofedConfig['subgraphLimits'], 'dedup'>;

/** The limiter's clock: injectable so the unit tests run on a fake one. */
export interface LimiterClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: LimiterClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Why a fetch was shed: the queue was full (it, or its key's newest waiter, was turned away), or its wait ran out. */
export type ShedReason = 'queue_full' | 'queue_timeout';

/** A fetch the gateway did not send because the subgraph × region had no slot for it in time. */
export class FetchShed extends Error {
  override readonly name = 'FetchShed';
  constructor(readonly reason: ShedReason) {
    super(reason === 'queue_full' ? 'no slot and the queue is full' : 'no slot within the queue deadline');
  }
}

/** A fetch whose client went away before it was sent (or, for a shared fetch, every client of it). */
export class FetchAbandoned extends Error {
  override readonly name = 'FetchAbandoned';
  constructor() {
    super('the client went away before the fetch was sent');
  }
}

/** A slot, held from the moment the fetch may be sent until its answer is read. */
export interface FetchPermit {
  /** Time spent waiting for the slot, in ms (0 when one was free). */
  readonly waitedMs: number;
  /** Frees the slot; a second call does nothing. */
  release(): void;
}

export interface LimiterLoad {
  readonly inFlight: number;
  readonly queued: number;
}

interface Waiter {
  readonly key: string;
  readonly enqueuedAt: number;
  readonly resolve: (permit: FetchPermit) => void;
  readonly reject: (error: Error) => void;
  timer: unknown;
  detach: () => void;
}

/**
 * Bounds the fetches in flight to one subgraph in one region, shares the
 * slots between callers, and sheds what cannot start in time.
 *
 * A fetch starts at once when a slot is free and its key (a tenant, or an
 * anonymous client address) holds fewer than its share
 * (`max(1, floor(maxInFlight × maxShare))`). Otherwise it waits in its key's
 * own queue. When a slot frees, the keys with waiters are served round-robin,
 * one fetch each in turn, skipping keys at their share: a key that queued
 * 200 fetches is served as often as one that queued one, never 200 times
 * first. A waiter that gets no slot within `queueTimeoutMs` is shed
 * (`queue_timeout`). When the queue holds `maxQueue` waiters, a newcomer takes
 * the place of the newest waiter of the longest queue if that queue is longer
 * than its own key's would be, and is shed otherwise (`queue_full`): a flood
 * fills the queue only until someone else needs a place in it. A waiter whose
 * signal aborts (its client went away) leaves the queue (`FetchAbandoned`).
 */
export class FetchLimiter {
  private inFlightTotal = 0;
  private queuedTotal = 0;
  private readonly inFlightByKey = new Map<string, number>();
  /** Keys with waiters, in round-robin order: a key served moves to the back. */
  private readonly queues = new Map<string, Waiter[]>();
  private readonly clock: LimiterClock;
  private readonly onLoad: ((load: LimiterLoad) => void) | undefined;
  /** Fetches in flight one key may hold. */
  readonly perKeyLimit: number;

  constructor(
    private readonly settings: FetchLimiterSettings,
    { clock = realClock, onLoad }: { clock?: LimiterClock; onLoad?: (load: LimiterLoad) => void } = {},
  ) {
    this.clock = clock;
    this.onLoad = onLoad;
    this.perKeyLimit = Math.max(1, Math.min(settings.maxInFlight, Math.floor(settings.maxInFlight * settings.maxShare)));
  }

  get load(): LimiterLoad {
    return { inFlight: this.inFlightTotal, queued: this.queuedTotal };
  }

  inFlightOf(key: string): number {
    return this.inFlightByKey.get(key) ?? 0;
  }

  queuedOf(key: string): number {
    return this.queues.get(key)?.length ?? 0;
  }

  /** A slot for a fetch of `key`: at once, after a wait, or a rejection with `FetchShed` or `FetchAbandoned`. */
  acquire(key: string, signal?: AbortSignal): Promise<FetchPermit> {
    if (signal?.aborted) return Promise.reject(new FetchAbandoned());
    if (this.inFlightTotal < this.settings.maxInFlight && this.inFlightOf(key) < this.perKeyLimit) {
      const permit = this.start(key, 0);
      this.changed();
      return Promise.resolve(permit);
    }
    if (this.queuedTotal >= this.settings.maxQueue && !this.evictForNewcomer(key)) return Promise.reject(new FetchShed('queue_full'));
    return new Promise<FetchPermit>((resolve, reject) => {
      const waiter: Waiter = { key, enqueuedAt: this.clock.now(), resolve, reject, timer: undefined, detach: () => undefined };
      waiter.timer = this.clock.setTimeout(() => this.drop(waiter, new FetchShed('queue_timeout')), this.settings.queueTimeoutMs);
      if (signal) {
        const onAbort = () => this.drop(waiter, new FetchAbandoned());
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.detach = () => signal.removeEventListener('abort', onAbort);
      }
      const queue = this.queues.get(key);
      if (queue) queue.push(waiter);
      else this.queues.set(key, [waiter]);
      this.queuedTotal += 1;
      this.changed();
    });
  }

  private start(key: string, waitedMs: number): FetchPermit {
    this.inFlightTotal += 1;
    this.inFlightByKey.set(key, this.inFlightOf(key) + 1);
    let released = false;
    return {
      waitedMs,
      release: () => {
        if (released) return;
        released = true;
        this.inFlightTotal -= 1;
        const held = this.inFlightOf(key) - 1;
        if (held === 0) this.inFlightByKey.delete(key);
        else this.inFlightByKey.set(key, held);
        this.pump();
        this.changed();
      },
    };
  }

  /** Hands free slots to waiters, round-robin over keys, skipping keys at their share. */
  private pump(): void {
    while (this.inFlightTotal < this.settings.maxInFlight) {
      let served = false;
      for (const [key, queue] of this.queues) {
        if (this.inFlightOf(key) >= this.perKeyLimit) continue;
        const waiter = queue.shift()!;
        this.queues.delete(key);
        if (queue.length > 0) this.queues.set(key, queue);
        this.queuedTotal -= 1;
        this.settle(waiter);
        waiter.resolve(this.start(key, this.clock.now() - waiter.enqueuedAt));
        served = true;
        break;
      }
      if (!served) return;
    }
  }

  /** Longest-queue drop: the newest waiter of the longest queue makes room, if that queue is longer than `key`'s would be. */
  private evictForNewcomer(key: string): boolean {
    let longest: Waiter[] | undefined;
    for (const queue of this.queues.values()) if (!longest || queue.length > longest.length) longest = queue;
    if (!longest || longest.length <= this.queuedOf(key) + 1) return false;
    this.drop(longest[longest.length - 1]!, new FetchShed('queue_full'));
    return true;
  }

  private drop(waiter: Waiter, error: Error): void {
    const queue = this.queues.get(waiter.key);
    const index = queue?.indexOf(waiter) ?? -1;
    if (!queue || index < 0) return;
    queue.splice(index, 1);
    if (queue.length === 0) this.queues.delete(waiter.key);
    this.queuedTotal -= 1;
    this.settle(waiter);
    waiter.reject(error);
    this.changed();
  }

  private settle(waiter: Waiter): void {
    this.clock.clearTimeout(waiter.timer);
    waiter.detach();
  }

  private changed(): void {
    this.onLoad?.(this.load);
  }
}
