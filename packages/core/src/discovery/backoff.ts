import type { Clock } from "../clock.ts";
import type { Rng } from "../random.ts";

/** Configuration of a {@link Backoff}, all in milliseconds. */
export interface BackoffConfig {
  /** Value at start and after every reset. Default 0. */
  initialMs: number;
  /** Smallest random increment. Default 1,000. */
  minIncrementMs: number;
  /** Largest random increment. Default 5,000. */
  maxIncrementMs: number;
  /** Ceiling. Default 30,000. */
  maxMs: number;
  /** Shortest random time after which an increment resets the backoff. Default 60,000. */
  minResetAfterMs: number;
  /** Longest random time after which an increment resets the backoff. Default 180,000. */
  maxResetAfterMs: number;
}

/** Upstream defaults (spec §4.2). */
export const DEFAULT_BACKOFF_CONFIG: Readonly<BackoffConfig> = {
  initialMs: 0,
  minIncrementMs: 1_000,
  maxIncrementMs: 5_000,
  maxMs: 30_000,
  minResetAfterMs: 60_000,
  maxResetAfterMs: 180_000,
};

/**
 * Incremental backoff with random steps (spec §4.2): each increment adds a random 1–5 s up to
 * 30 s; once a random 60–180 s have passed since the last reset, the next increment resets it,
 * so a walker that found nothing for a while tries again at full speed. Pure: time and
 * randomness injected.
 */
export class Backoff {
  readonly config: Readonly<BackoffConfig>;
  readonly #rng: Rng;
  readonly #clock: Clock;
  #valueMs: number;
  #lastResetAt = 0;
  #resetAfterMs = 0;

  constructor(rng: Rng, clock: Clock, config: Partial<BackoffConfig> = {}) {
    this.config = { ...DEFAULT_BACKOFF_CONFIG, ...config };
    this.#rng = rng;
    this.#clock = clock;
    this.#valueMs = this.config.initialMs;
    this.reset();
  }

  /** How long to wait now, in milliseconds. */
  get valueMs(): number {
    return this.#valueMs;
  }

  /** The random time after the last reset at which an increment resets instead. */
  get resetAfterMs(): number {
    return this.#resetAfterMs;
  }

  /** Adds a random increment (up to the ceiling), or resets when the reset window passed. */
  increment(): void {
    const { minIncrementMs, maxIncrementMs, maxMs } = this.config;
    const step = minIncrementMs + this.#rng.int(maxIncrementMs - minIncrementMs + 1);
    this.#valueMs = Math.min(maxMs, this.#valueMs + step);
    if (this.#clock.now() - this.#lastResetAt >= this.#resetAfterMs) this.reset();
  }

  /** Back to the initial value, with a new random reset window. */
  reset(): void {
    const { initialMs, minResetAfterMs, maxResetAfterMs } = this.config;
    this.#valueMs = initialMs;
    this.#lastResetAt = this.#clock.now();
    this.#resetAfterMs = minResetAfterMs + this.#rng.int(maxResetAfterMs - minResetAfterMs + 1);
  }
}
