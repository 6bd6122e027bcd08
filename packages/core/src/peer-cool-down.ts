import type { NodeId } from "./ids/node-id.ts";

/** Most peers remembered on cool-down; beyond, the oldest entry is forgotten first. */
export const MAX_COOL_DOWN_ENTRIES = 10_000;

/**
 * Peers on cool-down after they misbehaved, sans-IO: the caller passes the time. Discovery,
 * gossip and sync each keep one: a peer on cool-down gets nothing new from that protocol, so a
 * hostile peer costs a node at most one session or link per cool-down instead of one per retry.
 * Bounded, since identities are free.
 */
export class PeerCoolDown {
  readonly durationMs: number;
  readonly #until = new Map<NodeId, number>();

  constructor(durationMs: number) {
    this.durationMs = durationMs;
  }

  /** Puts `node` on cool-down from `now` (for `durationMs`, default the set's); returns when it ends. */
  add(node: NodeId, now: number, durationMs = this.durationMs): number {
    const until = now + durationMs;
    // Re-inserted at the end, so the map is ordered by when each cool-down started (and, with
    // one duration, by when it ends).
    this.#until.delete(node);
    this.#until.set(node, until);
    // Identities are free: without a bound, hostile ones would grow this map for ever.
    for (const [oldest, end] of this.#until) {
      if (this.#until.size <= MAX_COOL_DOWN_ENTRIES && end > now) break;
      this.#until.delete(oldest);
    }
    return until;
  }

  /** Whether `node` is on cool-down at `now` (expired entries are forgotten). */
  has(node: NodeId, now: number): boolean {
    const until = this.#until.get(node);
    if (until === undefined) return false;
    if (now < until) return true;
    this.#until.delete(node);
    return false;
  }

  /** When the cool-down of `node` ends, if it is on one. */
  until(node: NodeId): number | undefined {
    return this.#until.get(node);
  }

  /** Peers on cool-down (some may have expired since). */
  get size(): number {
    return this.#until.size;
  }
}
