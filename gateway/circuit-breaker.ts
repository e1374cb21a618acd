export interface CircuitBreakerSettings {
  /** Consecutive failures that open the breaker (`circuit_breaker.failure_threshold`). */
  readonly failureThreshold: number;
  /** How long it stays open before one trial request may pass (`circuit_breaker.open_ms`). */
  readonly openMs: number;
}

export interface CircuitBreakerOptions extends CircuitBreakerSettings {
  /** @default Date.now */
  readonly now?: () => number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

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
