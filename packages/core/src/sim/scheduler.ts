import type { ScheduledTimer } from "../runtime/timers.ts";

/**
 * A virtual-time event queue for simulators: callbacks run in time order (ties in insertion
 * order), and `now()` jumps to each event's time. Nothing waits for the real clock.
 */
export class VirtualScheduler {
  #now = 0;
  #seq = 0;
  // Binary min-heap ordered by (at, seq).
  readonly #heap: Entry[] = [];

  /** Current virtual time in milliseconds. */
  now(): number {
    return this.#now;
  }

  /** Number of events waiting. */
  get pending(): number {
    return this.#heap.length;
  }

  /** Virtual time of the next event, or `undefined` when none is waiting. */
  get pendingAt(): number | undefined {
    return this.#heap[0]?.at;
  }

  /**
   * Runs `run` after `delayMs` of virtual time (0 = after the events already due now). The
   * returned timer's `cancel()` keeps it from running (it stays queued, as a no-op).
   */
  schedule(delayMs: number, run: () => void): ScheduledTimer {
    const item = new Entry(this.#now + Math.max(0, delayMs), this.#seq++, run);
    const heap = this.#heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, heap[parent] as Entry)) break;
      heap[i] = heap[parent] as Entry;
      i = parent;
    }
    heap[i] = item;
    // The entry is its own handle: no closure per event (a simulator schedules millions).
    return item;
  }

  /** Runs the next event. Returns false when none is left. */
  step(): boolean {
    const heap = this.#heap;
    const top = heap[0];
    if (top === undefined) return false;
    const last = heap.pop() as Entry;
    if (heap.length > 0) {
      // Sift `last` down from the root.
      let i = 0;
      const size = heap.length;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= size) break;
        let child = left;
        let best = heap[left] as Entry;
        const right = heap[left + 1];
        if (right !== undefined && before(right, best)) {
          child = left + 1;
          best = right;
        }
        if (!before(best, last)) break;
        heap[i] = best;
        i = child;
      }
      heap[i] = last;
    }
    this.#now = top.at;
    top.run();
    return true;
  }

  /**
   * Runs events until virtual time would pass `untilMs`, the queue is empty, or `stop()` returns
   * true (checked after every event). Returns the number of events run.
   */
  run(untilMs = Number.POSITIVE_INFINITY, stop?: () => boolean): number {
    let n = 0;
    while (this.#heap.length > 0 && (this.#heap[0] as Entry).at <= untilMs) {
      this.step();
      n++;
      if (stop?.()) break;
    }
    if (this.#heap.length === 0 || (this.#heap[0] as Entry).at > untilMs) {
      if (Number.isFinite(untilMs) && untilMs > this.#now && !stop?.()) this.#now = untilMs;
    }
    return n;
  }
}

class Entry implements ScheduledTimer {
  readonly at: number;
  readonly seq: number;
  run: () => void;

  constructor(at: number, seq: number, run: () => void) {
    this.at = at;
    this.seq = seq;
    this.run = run;
  }

  cancel(): void {
    this.run = noop;
  }
}

function noop(): void {}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
