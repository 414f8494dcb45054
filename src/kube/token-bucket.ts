/**
 * `burst` tokens, refilled at `qps` per second (client-go's BucketRateLimiter). Times are passed in,
 * so callers bring their own clock.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.qps) / 1000);
    this.at = now;
  }

  /**
   * Takes a token even when none is left: returns how long in ms until it is really available
   * (0 = now), so callers delay rather than drop (the work queue's retries).
   */
  reserve(now: number): number {
    this.refill(now);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.qps);
  }

  /** Takes a token only if one is left: 0 when taken, else the ms until one is due (at least 1). */
  take(now: number): number {
    this.refill(now);
    if (this.tokens < 1) return Math.max(1, ((1 - this.tokens) * 1000) / this.qps);
    this.tokens -= 1;
    return 0;
  }
}
