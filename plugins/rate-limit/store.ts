/** One bucket an operation debits: the tenant's (or an anonymous client's) budget in one region. */
export interface BucketDebit {
  readonly key: string;
  readonly capacity: number;
  readonly refillPerSecond: number;
  readonly cost: number;
}

/** A bucket after the debit (or after the refusal, which changes nothing). */
export interface BucketState {
  readonly key: string;
  readonly capacity: number;
  /** Tokens left, rounded down. */
  readonly remaining: number;
  /** Seconds until the bucket is full again. */
  readonly resetSeconds: number;
  /** Seconds until this bucket could pay the cost it was asked for (0 when it could). */
  readonly retryAfterSeconds: number;
}

export interface DebitResult {
  /** True when every bucket could pay: then all were debited; otherwise none was. */
  readonly allowed: boolean;
  readonly buckets: readonly BucketState[];
}

/** Where the buckets live. A debit is atomic over all its buckets: all or nothing. */
export interface BucketStore {
  debit(buckets: readonly BucketDebit[]): Promise<DebitResult>;
  close(): Promise<void>;
}

/** A bucket that never refills cannot say when to retry: an hour stands for "not soon". */
const neverSeconds = 3_600;

/**
 * The arithmetic both stores share, given the tokens each bucket held after
 * refill. `allowed` is the store's own verdict when it made one (the Lua script).
 */
export function settleDebits(buckets: readonly BucketDebit[], available: readonly number[], allowed = buckets.every((bucket, i) => available[i]! >= bucket.cost)): DebitResult {
  return {
    allowed,
    buckets: buckets.map((bucket, i) => {
      const left = allowed ? available[i]! - bucket.cost : available[i]!;
      const secondsFor = (tokens: number) => (tokens <= 0 ? 0 : bucket.refillPerSecond > 0 ? Math.ceil(tokens / bucket.refillPerSecond) : neverSeconds);
      return {
        key: bucket.key,
        capacity: bucket.capacity,
        remaining: Math.max(0, Math.floor(left)),
        resetSeconds: secondsFor(bucket.capacity - left),
        retryAfterSeconds: allowed ? 0 : secondsFor(bucket.cost - left),
      };
    }),
  };
}
