import { NodeId } from "../ids/node-id.ts";
import { pick, type Rng, shuffle } from "../random.ts";
import type { HyParViewConfig } from "./config.ts";
import type { TopicMessage } from "./messages.ts";

/** Timers of the membership layer. */
export type HyParViewTimer =
  | { readonly kind: "shuffle" }
  | { readonly kind: "neighbor-request"; readonly peer: NodeId };

/**
 * Where {@link HyParView} puts what it decides; the owner ({@link TopicGossip}) turns these into
 * outputs. Sends come before the `disconnect` of the same peer, so a driver that flushes in order
 * delivers the goodbye before closing the link.
 */
export interface HyParViewSink {
  /** Send `message` to `to` over its link (opened if need be). */
  send(to: NodeId, message: TopicMessage): void;
  /** Call `timerFired(timer)` after `delayMs`. */
  setTimer(delayMs: number, timer: HyParViewTimer): void;
  /** The overlay no longer needs a link to `peer` (it left our active view or never answered). */
  disconnect(peer: NodeId): void;
  /** `peer` joined the active view. */
  neighbourUp(peer: NodeId): void;
  /** `peer` left the active view. */
  neighbourDown(peer: NodeId): void;
}

/**
 * HyParView membership of one topic (spec §5.2), pure: a small symmetric active view of
 * neighbours (open links), a larger passive view of known nodes to replace failed neighbours,
 * random walks to spread joins (`forward-join`) and to refresh the passive view (`shuffle`).
 *
 * Failure detection is the driver's: it reports a broken or refused link with
 * {@link HyParView.peerDisconnected}; an unanswered `neighbor` request times out by itself.
 */
export class HyParView {
  readonly me: NodeId;
  readonly #meBytes: Uint8Array;
  readonly #rng: Rng;
  readonly #config: HyParViewConfig;
  readonly #sink: HyParViewSink;
  readonly #active = new Set<NodeId>();
  readonly #passive = new Set<NodeId>();
  /** Nodes we sent a `neighbor` request and wait for. They count against the active capacity. */
  readonly #pending = new Set<NodeId>();
  /** Nodes that refused our `neighbor` request, and when: not asked again for a shuffle period. */
  readonly #refused = new Map<NodeId, number>();
  #shuffleArmed = false;
  #quit = false;

  constructor(me: NodeId, rng: Rng, config: HyParViewConfig, sink: HyParViewSink) {
    this.me = me;
    this.#meBytes = NodeId.toBytes(me);
    this.#rng = rng;
    this.#config = config;
    this.#sink = sink;
  }

  /** Current neighbours. */
  get activeView(): NodeId[] {
    return [...this.#active];
  }

  /** Current backup nodes. */
  get passiveView(): NodeId[] {
    return [...this.#passive];
  }

  /** Whether `peer` is a neighbour. */
  isActive(peer: NodeId): boolean {
    return this.#active.has(peer);
  }

  /**
   * Joins the overlay through `peers` (a `join` to each; they answer with a `neighbor` of high
   * priority). With no peers the node waits to be joined by others. Starts the shuffle timer.
   */
  join(peers: readonly NodeId[]): void {
    this.#quit = false;
    if (!this.#shuffleArmed) {
      this.#shuffleArmed = true;
      this.#sink.setTimer(this.#config.shuffleIntervalMs, { kind: "shuffle" });
    }
    for (const peer of peers) {
      if (peer !== this.me && !this.#active.has(peer)) this.#sink.send(peer, { type: "join" });
    }
  }

  /**
   * Asks `peers` (nodes known to share the topic that are not neighbours) to become neighbours,
   * as many as there are free active slots: a `neighbor` request of high priority while we have
   * no neighbour, of low priority otherwise (a full peer may refuse). Unanswered requests time
   * out like refill's; peers that refused us lately are not asked again yet.
   */
  requestNeighbours(peers: readonly NodeId[], now: number): void {
    if (this.#quit) return;
    let free = this.#config.activeViewCapacity - this.#active.size - this.#pending.size;
    for (const peer of peers) {
      if (free <= 0) return;
      if (peer === this.me || this.#active.has(peer) || this.#pending.has(peer)) continue;
      const refusedAt = this.#refused.get(peer);
      if (refusedAt !== undefined && refusedAt + this.#config.shuffleIntervalMs > now) continue;
      this.#requestNeighbour(peer);
      free--;
    }
  }

  /** Leaves: tells every neighbour we are gone for good (`disconnect{alive: false}`), forgets all. */
  quit(): void {
    for (const peer of [...this.#active]) this.#removeActive(peer, false, true);
    this.#active.clear();
    this.#passive.clear();
    this.#pending.clear();
    this.#refused.clear();
    this.#quit = true;
  }

  /** Handles a membership message from `from` (an authenticated link). */
  handleMessage(from: NodeId, message: TopicMessage, now: number): void {
    if (this.#quit || from === this.me) return;
    switch (message.type) {
      case "join":
        this.#onJoin(from);
        break;
      case "forward-join":
        this.#onForwardJoin(from, NodeId.fromBytes(message.node), message.ttl);
        break;
      case "shuffle":
        this.#onShuffle(from, message.origin, message.nodes, message.ttl);
        break;
      case "shuffle-reply":
        for (const node of message.nodes) this.#addPassive(NodeId.fromBytes(node));
        break;
      case "neighbor":
        this.#onNeighbor(from, message.priority);
        break;
      case "disconnect":
        this.#onDisconnect(from, message.alive, now);
        break;
      default:
        break;
    }
  }

  /** The link to `peer` broke or could not be opened: it is treated as failed. */
  peerDisconnected(peer: NodeId, now: number): void {
    if (this.#quit) return;
    const wasPending = this.#pending.delete(peer);
    if (this.#active.has(peer)) {
      this.#removeActive(peer, false, false);
      this.#refill(now);
    } else {
      this.#passive.delete(peer);
      if (wasPending) this.#refill(now);
    }
  }

  /** A timer set through the sink fired. */
  timerFired(timer: HyParViewTimer, now: number): void {
    if (this.#quit) {
      if (timer.kind === "shuffle") this.#shuffleArmed = false;
      return;
    }
    if (timer.kind === "neighbor-request") {
      if (!this.#pending.delete(timer.peer)) return;
      // No answer in time: consider it gone, as upstream does.
      this.#passive.delete(timer.peer);
      this.#sink.disconnect(timer.peer);
      this.#refill(now);
      return;
    }
    this.#sink.setTimer(this.#config.shuffleIntervalMs, { kind: "shuffle" });
    for (const [peer, at] of this.#refused) {
      if (at + this.#config.shuffleIntervalMs <= now) this.#refused.delete(peer);
    }
    this.#refill(now);
    const target = pick(this.#rng, [...this.#active]);
    if (target === undefined) return;
    const others = [...this.#active].filter((p) => p !== target);
    const nodes = [
      ...this.#sample(others, this.#config.shuffleActiveViewCount),
      ...this.#sample([...this.#passive], this.#config.shufflePassiveViewCount),
    ].map((id) => NodeId.toBytes(id));
    this.#sink.send(target, {
      type: "shuffle",
      origin: this.#meBytes,
      nodes,
      ttl: this.#config.shuffleRandomWalkLength,
    });
  }

  #onJoin(from: NodeId): void {
    this.#addActive(from, "high");
    for (const peer of this.#active) {
      if (peer === from) continue;
      this.#sink.send(peer, {
        type: "forward-join",
        node: NodeId.toBytes(from),
        ttl: this.#config.activeRandomWalkLength,
      });
    }
  }

  #onForwardJoin(from: NodeId, node: NodeId, ttl: number): void {
    if (node === this.me) return;
    if (ttl === 0 || this.#active.size <= 1) {
      this.#addActive(node, "high");
      return;
    }
    if (ttl === this.#config.passiveRandomWalkLength) this.#addPassive(node);
    const next = pick(
      this.#rng,
      [...this.#active].filter((p) => p !== from && p !== node),
    );
    if (next === undefined) {
      this.#addActive(node, "high");
      return;
    }
    this.#sink.send(next, { type: "forward-join", node: NodeId.toBytes(node), ttl: ttl - 1 });
  }

  #onShuffle(
    from: NodeId,
    originBytes: Uint8Array,
    nodes: readonly Uint8Array[],
    ttl: number,
  ): void {
    const origin = NodeId.fromBytes(originBytes);
    if (origin === this.me) return;
    if (ttl > 0 && this.#active.size > 1) {
      const next = pick(
        this.#rng,
        [...this.#active].filter((p) => p !== from && p !== origin),
      );
      if (next !== undefined) {
        this.#sink.send(next, { type: "shuffle", origin: originBytes, nodes, ttl: ttl - 1 });
        return;
      }
    }
    const reply = this.#sample([...this.#passive], nodes.length).map((id) => NodeId.toBytes(id));
    this.#sink.send(origin, { type: "shuffle-reply", nodes: reply });
    for (const node of nodes) this.#addPassive(NodeId.fromBytes(node));
    this.#addPassive(origin);
  }

  #onNeighbor(from: NodeId, priority: "high" | "low"): void {
    const asked = this.#pending.delete(from);
    if (this.#active.has(from)) return;
    // We accept what we asked for, what must be accepted, and what fits.
    if (asked || priority === "high" || this.#active.size < this.#config.activeViewCapacity) {
      this.#addActive(from, priority);
      return;
    }
    this.#sink.send(from, { type: "disconnect", alive: true });
    this.#addPassive(from);
    this.#sink.disconnect(from);
  }

  #onDisconnect(from: NodeId, alive: boolean, now: number): void {
    const wasPending = this.#pending.delete(from);
    if (this.#active.has(from)) {
      this.#removeActive(from, alive, false);
      this.#refill(now);
      return;
    }
    if (alive) {
      this.#addPassive(from);
      if (wasPending) this.#refused.set(from, now);
    } else {
      this.#passive.delete(from);
    }
    if (wasPending) this.#refill(now);
  }

  #addActive(peer: NodeId, priority: "high" | "low"): void {
    if (peer === this.me || this.#active.has(peer)) return;
    this.#passive.delete(peer);
    this.#pending.delete(peer);
    if (this.#active.size >= this.#config.activeViewCapacity) {
      const victim = pick(this.#rng, [...this.#active]) as NodeId;
      this.#removeActive(victim, true, true);
    }
    this.#active.add(peer);
    this.#sink.send(peer, { type: "neighbor", priority });
    this.#sink.neighbourUp(peer);
  }

  #removeActive(peer: NodeId, alive: boolean, tellPeer: boolean): void {
    this.#active.delete(peer);
    // Evicting, we stay alive and the peer stays in our passive view; quitting, neither.
    if (tellPeer) this.#sink.send(peer, { type: "disconnect", alive });
    if (alive) this.#addPassive(peer);
    else this.#passive.delete(peer);
    this.#sink.neighbourDown(peer);
    this.#sink.disconnect(peer);
  }

  #addPassive(peer: NodeId): void {
    if (peer === this.me || this.#active.has(peer) || this.#passive.has(peer)) return;
    if (this.#passive.size >= this.#config.passiveViewCapacity) {
      const victims = [...this.#passive].filter((p) => !this.#pending.has(p));
      const victim = pick(this.#rng, victims);
      if (victim === undefined) return;
      this.#passive.delete(victim);
    }
    this.#passive.add(peer);
  }

  /** Asks random passive nodes to fill the free active slots (high priority when alone). */
  #refill(now: number): void {
    if (this.#quit) return;
    const free = this.#config.activeViewCapacity - this.#active.size - this.#pending.size;
    if (free <= 0) return;
    const candidates = [...this.#passive].filter((p) => {
      if (this.#pending.has(p)) return false;
      const at = this.#refused.get(p);
      return at === undefined || at + this.#config.shuffleIntervalMs <= now;
    });
    for (const peer of this.#sample(candidates, free)) this.#requestNeighbour(peer);
  }

  #requestNeighbour(peer: NodeId): void {
    const priority = this.#active.size === 0 ? "high" : "low";
    this.#pending.add(peer);
    this.#sink.send(peer, { type: "neighbor", priority });
    this.#sink.setTimer(this.#config.neighborRequestTimeoutMs, { kind: "neighbor-request", peer });
  }

  #sample<T>(items: T[], n: number): T[] {
    return items.length <= n ? items : shuffle(this.#rng, items).slice(0, n);
  }
}
