/**
 * A running estimate of a delay from samples, as TCP estimates its retransmission timeout
 * (RFC 6298): a smoothed mean and a smoothed mean deviation, and a timeout of mean + 4 ×
 * deviation, which a sample rarely exceeds while the delays stay as they were. Pure: samples and
 * bounds are all it knows.
 */
export class DelayEstimate {
  #mean: number | undefined;
  #deviation = 0;
  #samples = 0;

  /** Number of samples taken. */
  get samples(): number {
    return this.#samples;
  }

  /** Smoothed mean of the samples (ms), undefined before the first. */
  get mean(): number | undefined {
    return this.#mean;
  }

  /** Takes one observed delay (ms; negative values count as 0). */
  sample(delayMs: number): void {
    const d = Math.max(0, delayMs);
    this.#samples++;
    if (this.#mean === undefined) {
      // RFC 6298 §2.2: the first sample sets the mean, half of it the deviation.
      this.#mean = d;
      this.#deviation = d / 2;
      return;
    }
    // Gains 1/4 and 1/8 (RFC 6298 §2.3): the deviation follows changes faster than the mean.
    this.#deviation += (Math.abs(d - this.#mean) - this.#deviation) / 4;
    this.#mean += (d - this.#mean) / 8;
  }

  /**
   * A wait of `waitedMs` ended before the event it waited for: the delay is longer, by how much
   * is unknown. Taken as a sample of twice the wait, as TCP doubles its timeout on expiry
   * (RFC 6298 §5.5); otherwise only delays shorter than the timeout would ever be sampled and
   * the estimate could not grow past a timeout that is too short.
   */
  expired(waitedMs: number): void {
    this.sample(2 * waitedMs);
  }

  /**
   * mean + 4 × deviation, within [`min`, `max`]; `min` until a sample was taken (a link that
   * was never measured waits the configured least time).
   */
  timeout(min: number, max: number): number {
    if (this.#mean === undefined) return min;
    return Math.min(max, Math.max(min, this.#mean + 4 * this.#deviation));
  }
}
