import type { GeofedConfig } from './config-schema.js';

/** `circuit_breaker` of supergraph.yaml. */
export type CircuitBreakerSettings = GeofedConfig['circuitBreaker'];

export interface CircuitBreakerOptions extends CircuitBreakerSettings {
  /** @default Date.now */
  readonly now?: () => number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * One request the breaker let through (`admit()`); the first of these calls
 * ends it, later ones are ignored.
 */
export interface BreakerAdmission {
  /** Whether this request is the half-open breaker's one trial. */
  readonly trial: boolean;
  /** The subgraph answered (a coded refusal is an answer too). */
  succeeded(): void;
  /** The subgraph failed: a transport error, its deadline, an answer that is not GraphQL. */
  failed(): void;
  /**
   * The outcome says nothing about the subgraph: the request was never sent
   * (shed, queued past its deadline) or its client went away. Nothing is
   * counted; a trial frees its place, so the next request may be the trial.
   */
  released(): void;
}

/**
 * Fails fast while a region is down instead of making every request wait out
 * the fetch deadline. After `openMs` exactly one trial request goes through:
 * its success closes the breaker, its failure opens it again.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.options.openMs ? 'half-open' : 'open';
  }

  /** True when a request may be sent now; a half-open breaker admits one trial at a time. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  /**
   * `tryAcquire()` with a handle on the request it admits, so that a request
   * whose outcome says nothing about the subgraph can be released without
   * counting. Undefined while open (or while a trial is out).
   */
  admit(): BreakerAdmission | undefined {
    const trial = this.state !== 'closed';
    if (!this.tryAcquire()) return undefined;
    let ended = false;
    const end = (action: () => void) => () => {
      if (ended) return;
      ended = true;
      action();
    };
    return {
      trial,
      succeeded: end(() => this.recordSuccess()),
      failed: end(() => this.recordFailure()),
      released: end(() => {
        if (trial) this.trialInFlight = false;
      }),
    };
  }

  recordSuccess(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
  }

  recordFailure(): void {
    this.failures += 1;
    if (this.trialInFlight || this.failures >= this.options.failureThreshold) this.openedAt = this.now();
    this.trialInFlight = false;
  }
}
