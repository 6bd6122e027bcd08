import { type Clock, systemClock } from "./clock.ts";
import { DecodeError } from "./codec/cbor.ts";
import { InvalidInputError } from "./errors.ts";

function isCounter(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * A hybrid logical clock value: wall-clock milliseconds plus a logical counter that orders
 * events within the same millisecond (or while the wall clock is behind). Totally ordered by
 * `physical`, then `logical`. Immutable.
 */
export class HybridTimestamp {
  /** Milliseconds since the Unix epoch. */
  readonly physical: number;
  /** Counter, ≥ 0. */
  readonly logical: number;

  /** Throws `InvalidInputError` unless both parts are non-negative safe integers. */
  constructor(physical: number, logical: number) {
    if (!isCounter(physical) || !isCounter(logical)) {
      throw new InvalidInputError("a hybrid timestamp is two non-negative safe integers");
    }
    this.physical = physical;
    this.logical = logical;
  }

  /** The smallest timestamp, (0, 0). */
  static readonly ZERO: HybridTimestamp = new HybridTimestamp(0, 0);

  /** Negative, zero or positive as this is before, equal to or after `other`. */
  compare(other: HybridTimestamp): number {
    return this.physical !== other.physical
      ? Math.sign(this.physical - other.physical)
      : Math.sign(this.logical - other.logical);
  }

  /** Whether both parts are equal. */
  equals(other: HybridTimestamp): boolean {
    return this.physical === other.physical && this.logical === other.logical;
  }

  /** Whether this is strictly after `other`. */
  isAfter(other: HybridTimestamp): boolean {
    return this.compare(other) > 0;
  }

  /** The CBOR-able form `[physical, logical]`. */
  toWire(): [number, number] {
    return [this.physical, this.logical];
  }

  /** Reads `[physical, logical]`. Throws {@link DecodeError} on any other shape. */
  static fromWire(value: unknown): HybridTimestamp {
    if (
      !Array.isArray(value) ||
      value.length !== 2 ||
      !isCounter(value[0]) ||
      !isCounter(value[1])
    ) {
      throw new DecodeError("a hybrid timestamp is [physical, logical], non-negative integers");
    }
    return new HybridTimestamp(value[0], value[1]);
  }

  /** `physical.logical`, for logs. */
  toString(): string {
    return `${this.physical}.${this.logical}`;
  }
}

/**
 * Issues {@link HybridTimestamp}s that only move forward: each value it returns is strictly
 * greater than every value it returned before and every value passed to
 * {@link HybridClock.increment}, whatever the wall clock does.
 */
export class HybridClock {
  readonly #clock: Clock;
  #last: HybridTimestamp = HybridTimestamp.ZERO;

  /** `clock` is the wall clock (default {@link systemClock}); inject a `ManualClock` in tests. */
  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  /** A timestamp strictly after every one this clock issued before. */
  now(): HybridTimestamp {
    return this.#advance(undefined);
  }

  /**
   * A timestamp strictly after `previous` (and after everything this clock issued): use it to
   * re-sign one's own record, or to move past a timestamp seen from another node.
   */
  increment(previous: HybridTimestamp): HybridTimestamp {
    return this.#advance(previous);
  }

  #advance(previous: HybridTimestamp | undefined): HybridTimestamp {
    const wall = Math.max(0, Math.floor(this.#clock.now()));
    const last = this.#last;
    const physical = Math.max(wall, last.physical, previous?.physical ?? 0);
    // The counter restarts when the wall clock is ahead of everything seen; otherwise it
    // continues from the largest counter at the chosen physical time.
    let logical = -1;
    if (physical === last.physical) logical = Math.max(logical, last.logical);
    if (previous !== undefined && physical === previous.physical) {
      logical = Math.max(logical, previous.logical);
    }
    const next = new HybridTimestamp(physical, logical + 1);
    this.#last = next;
    return next;
  }
}
