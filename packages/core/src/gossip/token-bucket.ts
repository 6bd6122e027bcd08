/**
 * A token bucket: holds up to `burst` tokens, refilled continuously at `perSecond`. Time is
 * passed in (ms), so it is as deterministic as its caller.
 */
export class TokenBucket {
  readonly burst: number;
  readonly perSecond: number;
  #tokens: number;
  #last: number;

  constructor(burst: number, perSecond: number, now: number) {
    this.burst = burst;
    this.perSecond = perSecond;
    this.#tokens = burst;
    this.#last = now;
  }

  /** Takes `n` tokens if there are enough; false (and nothing taken) otherwise. */
  take(now: number, n = 1): boolean {
    if (now > this.#last) {
      this.#tokens = Math.min(
        this.burst,
        this.#tokens + ((now - this.#last) / 1000) * this.perSecond,
      );
      this.#last = now;
    }
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }
}
