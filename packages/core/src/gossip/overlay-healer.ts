import type { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";

/** Configuration of an {@link OverlayHealer}, in milliseconds. */
export interface OverlayHealerConfig {
  /** Wait before asking a co-topic peer again after the first attempt. Default 500. */
  firstRetryMs: number;
  /** The wait doubles with every attempt up to this. Default 30,000. */
  maxRetryMs: number;
}

/** Defaults of {@link OverlayHealerConfig}. */
export const DEFAULT_OVERLAY_HEALER_CONFIG: Readonly<OverlayHealerConfig> = {
  firstRetryMs: 500,
  maxRetryMs: 30_000,
};

/** One overlay as the healer sees it. */
export interface OverlayView {
  readonly topic: Topic;
  /** Neighbours now (the active view). */
  readonly neighbours: readonly NodeId[];
  /** Neighbours the overlay holds at most (the active view's capacity). */
  readonly capacity: number;
  /**
   * Nodes known to share the topic (the address book), best first (reachable ones before
   * stale ones, in random order), never ourselves.
   */
  readonly candidates: readonly NodeId[];
}

/** What the healer asks of one overlay. */
export interface HealAction {
  readonly topic: Topic;
  /**
   * `join` when the overlay has no neighbour (a `join` makes the peers forward us to others);
   * `request-neighbours` when it has some but room for more (a full peer may refuse).
   */
  readonly how: "join" | "request-neighbours";
  readonly peers: readonly NodeId[];
}

/** The healer's answer: actions now, and when to look again. */
export interface HealPlan {
  readonly actions: readonly HealAction[];
  /** The earliest time a waiting candidate may be asked again; `undefined`: nothing waits. */
  readonly wakeAt: number | undefined;
}

interface Attempts {
  count: number;
  nextAt: number;
}

/**
 * Keeps every overlay connected to the co-topic peers the address book knows (spec §5.1,
 * "healer"), as one pure rule driven identically by the gossip service and the simulator.
 *
 * While an overlay has free neighbour slots, each known co-topic peer that is not a neighbour
 * is asked, at once the first time and then again after 0.5 s, 1 s, 2 s, … up to 30 s per
 * peer, so a peer whose first dial failed (no address yet, a relay reservation still coming)
 * is retried within a second instead of waiting for the next discovery session. A peer that
 * becomes a neighbour starts over. A full overlay asks nobody: HyParView keeps it.
 */
export class OverlayHealer {
  readonly config: Readonly<OverlayHealerConfig>;
  readonly #attempts = new Map<Topic, Map<NodeId, Attempts>>();

  constructor(config: Partial<OverlayHealerConfig> = {}) {
    this.config = { ...DEFAULT_OVERLAY_HEALER_CONFIG, ...config };
  }

  /** Decides, for every overlay, whom to ask now. */
  plan(overlays: readonly OverlayView[], now: number): HealPlan {
    const actions: HealAction[] = [];
    let wakeAt: number | undefined;
    for (const overlay of overlays) {
      const attempts = this.#attemptsOf(overlay.topic);
      const neighbours = new Set(overlay.neighbours);
      const candidates = new Set(overlay.candidates);
      // Forget peers no longer known for the topic, so the map stays as small as the book.
      for (const peer of attempts.keys()) if (!candidates.has(peer)) attempts.delete(peer);
      let free = overlay.capacity - neighbours.size;
      if (free <= 0) continue;
      const peers: NodeId[] = [];
      for (const peer of overlay.candidates) {
        if (neighbours.has(peer)) continue;
        const attempt = attempts.get(peer);
        if (attempt !== undefined && attempt.nextAt > now) {
          wakeAt = wakeAt === undefined ? attempt.nextAt : Math.min(wakeAt, attempt.nextAt);
          continue;
        }
        // Due, but the overlay filled up: asked on a later plan, once a slot frees.
        if (free === 0) continue;
        const count = (attempt?.count ?? 0) + 1;
        const nextAt = now + this.#retryAfter(count);
        attempts.set(peer, { count, nextAt });
        wakeAt = wakeAt === undefined ? nextAt : Math.min(wakeAt, nextAt);
        peers.push(peer);
        free--;
      }
      if (peers.length > 0) {
        actions.push({
          topic: overlay.topic,
          how: neighbours.size === 0 ? "join" : "request-neighbours",
          peers,
        });
      }
    }
    return { actions, wakeAt };
  }

  /** `peer` became a neighbour of `topic`: its next loss is retried from the start. */
  neighbourUp(topic: Topic, peer: NodeId): void {
    this.#attempts.get(topic)?.delete(peer);
  }

  /**
   * Every peer is due again now, its backoff started over: after the node was offline or
   * frozen, the failures that grew the backoff say nothing about the peers any more.
   */
  retryAllNow(): void {
    this.#attempts.clear();
  }

  /** The overlay was left: forget its attempts. */
  forget(topic: Topic): void {
    this.#attempts.delete(topic);
  }

  /** How long after its `count`-th attempt a peer is asked again. */
  #retryAfter(count: number): number {
    const { firstRetryMs, maxRetryMs } = this.config;
    return Math.min(maxRetryMs, firstRetryMs * 2 ** Math.min(count - 1, 30));
  }

  #attemptsOf(topic: Topic): Map<NodeId, Attempts> {
    let attempts = this.#attempts.get(topic);
    if (attempts === undefined) {
      attempts = new Map();
      this.#attempts.set(topic, attempts);
    }
    return attempts;
  }
}
