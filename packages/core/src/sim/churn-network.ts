// The network half of a simulation, kept apart from any protocol: seeded per-pair latency, who
// is online when (churn), and the summary statistics reports print. Written for the sync
// simulator; small on purpose so it can join a shared network model of every simulator.
import type { Rng } from "../random.ts";

/** One-way latency per pair of nodes, drawn once per pair, uniformly from [min, max] ms. */
export class PairLatency {
  readonly min: number;
  readonly max: number;
  readonly #rng: Rng;
  readonly #drawn = new Map<number, number>();
  readonly #nodes: number;

  constructor(rng: Rng, nodes: number, range: { min: number; max: number }) {
    this.#rng = rng;
    this.#nodes = nodes;
    this.min = range.min;
    this.max = range.max;
  }

  /** Latency between nodes `a` and `b` (indices), the same in both directions. */
  between(a: number, b: number): number {
    const key = a < b ? a * this.#nodes + b : b * this.#nodes + a;
    let ms = this.#drawn.get(key);
    if (ms === undefined) {
      ms = this.min + this.#rng.next() * (this.max - this.min);
      this.#drawn.set(key, ms);
    }
    return ms;
  }
}

/** A node going offline or coming back at `at`. */
export interface ChurnEvent {
  readonly at: number;
  readonly node: number;
  readonly online: boolean;
}

/** Options of {@link churnSchedule}. */
export interface ChurnOptions {
  readonly nodes: number;
  /** Share of the nodes that go offline at all during the window. */
  readonly fraction: number;
  /** Churn happens in [0, windowMs); every node is online again at `windowMs`. */
  readonly windowMs: number;
  /** Mean of the exponential time a churning node stays online between absences. */
  readonly meanOnlineMs: number;
  /** Mean of the exponential time it stays away. */
  readonly meanOfflineMs: number;
}

/**
 * When which node goes offline and comes back: each churning node alternates exponential
 * online and offline spells inside the window, and is back online by its end. Sorted by time.
 */
export function churnSchedule(rng: Rng, options: ChurnOptions): ChurnEvent[] {
  const events: ChurnEvent[] = [];
  for (let node = 0; node < options.nodes; node++) {
    if (rng.next() >= options.fraction) continue;
    let t = exponential(rng, options.meanOnlineMs);
    while (t < options.windowMs) {
      const away = exponential(rng, options.meanOfflineMs);
      events.push({ at: t, node, online: false });
      const back = Math.min(t + away, options.windowMs);
      events.push({ at: back, node, online: true });
      t = back + exponential(rng, options.meanOnlineMs);
    }
  }
  return events.sort((a, b) => a.at - b.at || a.node - b.node);
}

/** A draw from the exponential distribution with this mean. */
export function exponential(rng: Rng, mean: number): number {
  return -Math.log(1 - rng.next()) * mean;
}

/** The `p`-th percentile (0–100) of `values` by nearest rank; `NaN` when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
