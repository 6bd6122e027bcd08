import { type P2pEvent, stamp, type Unstamped } from "@p2panda-web/events";
import type { NodeId } from "../ids/node-id.ts";
import type { Topic } from "../ids/topic.ts";
import type { Rng } from "../random.ts";
import { type GossipConfig, type GossipConfigInput, gossipConfig } from "./config.ts";
import { GossipMessageTooLargeError } from "./errors.ts";
import { HyParView, type HyParViewTimer } from "./hyparview.ts";
import { MEMBERSHIP_MESSAGE_TYPES, type TopicMessage } from "./messages.ts";
import { PlumTree, type PlumTreeTimer } from "./plumtree.ts";

/** Timers of one topic. */
export type TopicTimer = HyParViewTimer | PlumTreeTimer;

/**
 * Events of one topic. `received.deliveredBy` is the node at the other end of the authenticated
 * link the message arrived over — a neighbour, not necessarily the author. Gossip carries no
 * origin claim: an app that needs to know who wrote a message signs its content.
 */
export type GossipEvent =
  | (P2pEvent<"gossip:joined"> & { readonly topic: Topic; readonly nodes: readonly NodeId[] })
  | (P2pEvent<"gossip:neighbour-up"> & { readonly topic: Topic; readonly node: NodeId })
  | (P2pEvent<"gossip:neighbour-down"> & { readonly topic: Topic; readonly node: NodeId })
  | (P2pEvent<"gossip:received"> & {
      readonly topic: Topic;
      readonly content: Uint8Array;
      /** BLAKE3(content). */
      readonly id: Uint8Array;
      readonly deliveredBy: NodeId;
      /** Hops the message travelled to us. */
      readonly hops: number;
    })
  | (P2pEvent<"gossip:left"> & { readonly topic: Topic });

/** What a {@link TopicGossip} asks its driver to do, in order. */
export type TopicOutput =
  /** Send `message` to `to` (dial if needed). */
  | { readonly type: "send"; readonly to: NodeId; readonly message: TopicMessage }
  /** Call `timerFired(timer, …)` after `delayMs`. */
  | { readonly type: "set-timer"; readonly delayMs: number; readonly timer: TopicTimer }
  /** This topic's overlay no longer needs the link to `peer` (after the sends before it). */
  | { readonly type: "disconnect"; readonly peer: NodeId }
  | { readonly type: "event"; readonly event: GossipEvent };

/**
 * One topic's gossip overlay: HyParView membership feeding its neighbours into PlumTree
 * broadcast, sans-IO. Every method takes the current time and returns what to do.
 */
export class TopicGossip {
  readonly topic: Topic;
  readonly me: NodeId;
  readonly config: GossipConfig;
  readonly membership: HyParView;
  readonly broadcastTree: PlumTree;
  #out: TopicOutput[] = [];
  #now = 0;
  #joined = false;
  #active = false;

  constructor(topic: Topic, me: NodeId, rng: Rng, config: GossipConfigInput | GossipConfig = {}) {
    this.topic = topic;
    this.me = me;
    this.config = gossipConfig(config);
    this.membership = new HyParView(me, rng, this.config.membership, {
      send: (to, message) => this.#out.push({ type: "send", to, message }),
      setTimer: (delayMs, timer) => this.#out.push({ type: "set-timer", delayMs, timer }),
      disconnect: (peer) => this.#out.push({ type: "disconnect", peer }),
      neighbourUp: (node) => {
        this.broadcastTree.neighbourUp(node, this.#now);
        this.#event({ type: "gossip:neighbour-up", topic, node });
        if (!this.#joined) {
          this.#joined = true;
          this.#event({ type: "gossip:joined", topic, nodes: this.membership.activeView });
        }
      },
      neighbourDown: (node) => {
        this.broadcastTree.neighbourDown(node);
        this.#event({ type: "gossip:neighbour-down", topic, node });
      },
    });
    this.broadcastTree = new PlumTree(this.config.broadcast, this.config.limits, {
      send: (to, message) => this.#out.push({ type: "send", to, message }),
      setTimer: (delayMs, timer) => this.#out.push({ type: "set-timer", delayMs, timer }),
      deliver: (message, deliveredBy) =>
        this.#event({
          type: "gossip:received",
          topic,
          content: message.content,
          id: message.id,
          deliveredBy,
          hops: message.round + 1,
        }),
    });
  }

  /** Whether `join` was called and `quit` was not since. */
  get isActive(): boolean {
    return this.#active;
  }

  /** Whether a first neighbour came up since joining. */
  get joined(): boolean {
    return this.#joined;
  }

  /** Current neighbours (the active view). */
  get neighbours(): NodeId[] {
    return this.membership.activeView;
  }

  /** Joins through `bootstrap` (may be empty: then others must join us). */
  join(bootstrap: readonly NodeId[], now: number): TopicOutput[] {
    this.#now = now;
    this.#active = true;
    this.membership.join(bootstrap);
    return this.#flush();
  }

  /** Asks known co-topic `peers` to become neighbours while the active view has room. */
  requestNeighbours(peers: readonly NodeId[], now: number): TopicOutput[] {
    this.#now = now;
    if (!this.#active) return [];
    this.membership.requestNeighbours(peers, now);
    return this.#flush();
  }

  /**
   * Broadcasts `content` to the topic. Returns the message id (BLAKE3 of the content).
   *
   * @throws GossipMessageTooLargeError if `content` exceeds `maxMessageSize`.
   */
  broadcast(content: Uint8Array, now: number): { id: Uint8Array; outputs: TopicOutput[] } {
    const max = this.config.limits.maxMessageSize;
    if (content.length > max) throw new GossipMessageTooLargeError(content.length, max);
    this.#now = now;
    const id = this.broadcastTree.broadcast(content, now);
    return { id, outputs: this.#flush() };
  }

  /** Handles a (decoded, checked) message from `from`, an authenticated link. */
  handleMessage(from: NodeId, message: TopicMessage, now: number): TopicOutput[] {
    this.#now = now;
    if (!this.#active) return [];
    if (MEMBERSHIP_MESSAGE_TYPES.has(message.type)) {
      this.membership.handleMessage(from, message, now);
    } else {
      this.broadcastTree.handleMessage(from, message, now);
    }
    return this.#flush();
  }

  /** The link to `peer` broke or could not be opened. */
  peerDisconnected(peer: NodeId, now: number): TopicOutput[] {
    this.#now = now;
    if (!this.#active) return [];
    if (this.membership.isActive(peer)) this.broadcastTree.neighbourFailed(now);
    this.membership.peerDisconnected(peer, now);
    return this.#flush();
  }

  /** A timer set by an earlier output fired. */
  timerFired(timer: TopicTimer, now: number): TopicOutput[] {
    this.#now = now;
    if (timer.kind === "shuffle" || timer.kind === "neighbor-request") {
      this.membership.timerFired(timer, now);
    } else {
      this.broadcastTree.timerFired(timer, now);
    }
    return this.#flush();
  }

  /** Leaves the overlay: neighbours are told we are gone; emits `gossip:left`. */
  quit(now: number): TopicOutput[] {
    this.#now = now;
    if (!this.#active) return [];
    this.membership.quit();
    this.#active = false;
    this.#joined = false;
    this.#event({ type: "gossip:left", topic: this.topic });
    return this.#flush();
  }

  #event(event: Unstamped<GossipEvent>): void {
    this.#out.push({ type: "event", event: stamp<GossipEvent>(event, this.#now) });
  }

  #flush(): TopicOutput[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }
}
