import type { Rng } from "../random.ts";
import type { VirtualScheduler } from "./scheduler.ts";

/**
 * Churn until `untilMs`: every `everyMs` of virtual time, `leave` random online nodes go
 * offline, `rejoin` random offline nodes come back (default 0) and `join` new nodes arrive.
 */
export interface ChurnOptions {
  readonly everyMs: number;
  readonly untilMs: number;
  readonly leave: number;
  readonly join: number;
  readonly rejoin?: number;
}

/** What churn acts on: the simulator's population and how a node leaves, returns or arrives. */
export interface ChurnTarget<N> {
  /** Nodes that may leave (online or not; an offline pick is skipped, not redrawn). */
  leaveCandidates(): readonly N[];
  /** Nodes that may come back (online or not; an online pick is skipped, not redrawn). */
  rejoinCandidates?(): readonly N[];
  /** Whether `node` is online now. */
  isOnline(node: N): boolean;
  /** Takes `node` offline. */
  leave(node: N): void;
  /** Brings `node` back online. */
  rejoin?(node: N): void;
  /** A new node arrives. */
  join(): void;
}

/**
 * Schedules the churn rounds of `options` on `scheduler` (the first at `everyMs`, the last at or
 * before `untilMs`). Each round takes its leavers first, then those coming back, then the new
 * nodes; picks draw from `rng` in that order, so a seed replays the same churn.
 */
export function scheduleChurn<N>(
  scheduler: VirtualScheduler,
  rng: Rng,
  options: ChurnOptions,
  target: ChurnTarget<N>,
): void {
  for (let t = options.everyMs; t <= options.untilMs; t += options.everyMs)
    scheduler.schedule(t, () => churnRound(rng, options, target));
}

/** One churn round (see {@link scheduleChurn}). */
export function churnRound<N>(rng: Rng, options: ChurnOptions, target: ChurnTarget<N>): void {
  for (let i = 0; i < options.leave; i++) {
    const candidates = target.leaveCandidates();
    if (candidates.length === 0) break;
    const node = candidates[rng.int(candidates.length)] as N;
    if (target.isOnline(node)) target.leave(node);
  }
  const rejoin = options.rejoin ?? 0;
  for (let i = 0; i < rejoin; i++) {
    const candidates = target.rejoinCandidates?.() ?? [];
    if (candidates.length === 0) break;
    const node = candidates[rng.int(candidates.length)] as N;
    if (!target.isOnline(node)) target.rejoin?.(node);
  }
  for (let i = 0; i < options.join; i++) target.join();
}
