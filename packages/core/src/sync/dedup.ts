/** How many recent operation ids a sync session remembers (upstream default). */
export const DEFAULT_DEDUP_CAPACITY = 1024;

/**
 * Remembers the last `capacity` items (oldest evicted first) to drop repeats: operation ids a
 * session already sent or received, so live mode does not echo them back and forth.
 */
export class DeduplicationBuffer<T> {
  readonly capacity: number;
  readonly #order: T[] = [];
  readonly #set = new Set<T>();
  #head = 0;

  constructor(capacity = DEFAULT_DEDUP_CAPACITY) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError("capacity must be a positive integer");
    }
    this.capacity = capacity;
  }

  /** Adds `item`; returns `false` (and changes nothing) if it is already remembered. */
  insert(item: T): boolean {
    if (this.#set.has(item)) return false;
    if (this.#set.size >= this.capacity) {
      // Ring buffer: overwrite the oldest slot.
      const evicted = this.#order[this.#head] as T;
      this.#set.delete(evicted);
      this.#order[this.#head] = item;
      this.#head = (this.#head + 1) % this.capacity;
    } else {
      this.#order.push(item);
    }
    this.#set.add(item);
    return true;
  }

  /** Whether `item` is remembered. */
  contains(item: T): boolean {
    return this.#set.has(item);
  }

  /** How many items are remembered (≤ capacity). */
  get size(): number {
    return this.#set.size;
  }
}
