import type { Clock } from "../clock.ts";

/** How far one measured node is. */
export interface ConvergenceProgress {
  /** Peers it has to come to know. */
  readonly peers: number;
  /** Peers it does not know yet. */
  missing: number;
  /** Virtual time it came to know the last of them. */
  convergedAt?: number;
  /** Virtual time it knew its first peer, and its {@link MILESTONE_PEERS}-th (or all, if fewer). */
  firstAt?: number;
  milestoneAt?: number;
}

/** The "k peers known" milestone measured besides the first peer and all of them. */
export const MILESTONE_PEERS = 5;

/**
 * Convergence measurement: from `start()` on, each measured node counts down the peers it still
 * has to come to know, and the time it knew the last one is its convergence time. What "knows"
 * means (holds an address, has run a session, holds an operation) is the simulator's criterion:
 * it calls {@link learned} once per peer when that becomes true.
 */
export class Convergence<N> {
  readonly #clock: Clock;
  readonly #onConverged: ((node: N) => void) | undefined;
  readonly #progress = new Map<N, ConvergenceProgress>();
  #startedAt = 0;
  #started = false;
  #converged = 0;

  /** `onConverged` runs when a node converges (to record what it had spent until then). */
  constructor(clock: Clock, onConverged?: (node: N) => void) {
    this.#clock = clock;
    this.#onConverged = onConverged;
  }

  /** Starts the measurement now; call {@link measure} for each node to measure next. */
  start(): void {
    this.#startedAt = this.#clock.now();
    this.#started = true;
  }

  /** Virtual time the measurement started at. */
  get startedAt(): number {
    return this.#startedAt;
  }

  /** Nodes measured. */
  get measuredCount(): number {
    return this.#progress.size;
  }

  /** Measured nodes that converged. */
  get convergedCount(): number {
    return this.#converged;
  }

  /** Whether the measurement has started and every measured node converged. */
  get done(): boolean {
    return this.#started && this.#converged === this.#progress.size;
  }

  /**
   * Measures `node`: it has `peers` peers to know, `missing` of which it does not know yet (it
   * converges at once when none is missing).
   */
  measure(node: N, peers: number, missing: number): void {
    const progress: ConvergenceProgress = { peers, missing };
    this.#progress.set(node, progress);
    this.#milestones(progress);
    if (missing === 0) this.#converge(node, progress);
  }

  /** How far `node` is, or undefined when it is not measured. */
  progress(node: N): Readonly<ConvergenceProgress> | undefined {
    return this.#progress.get(node);
  }

  /** Whether `node` is measured and has not converged yet: whether {@link learned} counts. */
  isWaiting(node: N): boolean {
    const progress = this.#progress.get(node);
    return progress !== undefined && progress.convergedAt === undefined;
  }

  /** `node` came to know one more of its peers. */
  learned(node: N): void {
    const progress = this.#progress.get(node);
    if (progress === undefined || progress.convergedAt !== undefined) return;
    progress.missing--;
    this.#milestones(progress);
    if (progress.missing === 0) this.#converge(node, progress);
  }

  /**
   * Per measured node, the time from the start until it knew `k` of its peers (all of them when
   * it has fewer; until `now` if it did not yet): `k` is 1 or {@link MILESTONE_PEERS}.
   */
  timesToKnow(k: 1 | typeof MILESTONE_PEERS, now = this.#clock.now()): number[] {
    const times: number[] = [];
    for (const p of this.#progress.values()) {
      const at = k === 1 ? p.firstAt : p.milestoneAt;
      times.push((at ?? now) - this.#startedAt);
    }
    return times;
  }

  #milestones(progress: ConvergenceProgress): void {
    const known = progress.peers - progress.missing;
    if (known >= Math.min(1, progress.peers)) progress.firstAt ??= this.#clock.now();
    if (known >= Math.min(MILESTONE_PEERS, progress.peers)) {
      progress.milestoneAt ??= this.#clock.now();
    }
  }

  /** Per measured node, the time from the start until it converged (until `now` if it did not). */
  timesToConverge(now = this.#clock.now()): number[] {
    const times: number[] = [];
    for (const p of this.#progress.values()) times.push((p.convergedAt ?? now) - this.#startedAt);
    return times;
  }

  #converge(node: N, progress: ConvergenceProgress): void {
    progress.convergedAt = this.#clock.now();
    this.#converged++;
    this.#onConverged?.(node);
  }
}
