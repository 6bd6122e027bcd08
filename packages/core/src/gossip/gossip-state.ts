import type { P2pEvent } from "@p2panda-web/events";
import type { NodeId } from "../ids/node-id.ts";
import { Topic } from "../ids/topic.ts";
import { PeerCoolDown } from "../peer-cool-down.ts";
import type { Rng } from "../random.ts";
import { type GossipConfig, type GossipConfigInput, gossipConfig } from "./config.ts";
import {
  type GossipFailureReason,
  GossipProtocolError,
  GossipTopicNotJoinedError,
} from "./errors.ts";
import { decodeGossipMessage, type GossipMessage, gossipMessageTopic } from "./messages.ts";
import { TokenBucket } from "./token-bucket.ts";
import {
  type GossipEvent,
  TopicGossip,
  type TopicOutput,
  type TopicTimer,
} from "./topic-gossip.ts";

/** A timer of one topic. */
export interface GossipTimer {
  readonly topic: Topic;
  readonly timer: TopicTimer;
}

/** Events of a {@link GossipState}: the topics' events plus refused peers. */
export type GossipStateEvent =
  | GossipEvent
  | (P2pEvent<"gossip:peer-refused"> & {
      readonly node: NodeId;
      readonly reason: GossipFailureReason;
      readonly error: GossipProtocolError;
    });

/** What a {@link GossipState} asks its driver to do, in order. */
export type GossipOutput =
  | { readonly type: "send"; readonly to: NodeId; readonly message: GossipMessage }
  | { readonly type: "set-timer"; readonly delayMs: number; readonly timer: GossipTimer }
  /**
   * Close the link to `peer`: no topic needs it any more, or (with `error`) it misbehaved. Sends
   * output before it should still be flushed.
   */
  | { readonly type: "disconnect"; readonly peer: NodeId; readonly error?: GossipProtocolError }
  | { readonly type: "event"; readonly event: GossipStateEvent };

/** Counters of a {@link GossipState} (p2panda-web additions). */
export interface GossipMetrics {
  /** Messages that passed decoding and went to a topic. */
  messagesHandled: number;
  /** Messages for a topic we are not in: dropped (upstream could fail the whole manager). */
  droppedUnknownTopic: number;
  /** Messages from a peer on cool-down after misbehaving: dropped unread. */
  droppedFromRefusedPeer: number;
  /** Peers disconnected, by reason. */
  refusedPeers: Record<GossipFailureReason, number>;
}

/**
 * Gossip over many topics for one node, sans-IO: decodes and checks every incoming value,
 * rate-limits each link, routes to the topic's {@link TopicGossip}, and closes links that no
 * topic needs any more. A peer that sends malformed or oversized input or floods is
 * disconnected, counted and ignored for `floodCooldownMs`; nothing a remote sends throws.
 *
 * Authenticity: messages are attributed to the authenticated link they came over
 * (`deliveredBy`); there is no origin claim unless the application signs content.
 */
export class GossipState {
  readonly me: NodeId;
  readonly config: GossipConfig;
  readonly #rng: Rng;
  readonly #topics = new Map<Topic, TopicGossip>();
  readonly #topicBytes = new Map<Topic, Uint8Array>();
  readonly #buckets = new Map<NodeId, TokenBucket>();
  readonly #refused: PeerCoolDown;
  readonly metrics: GossipMetrics = {
    messagesHandled: 0,
    droppedUnknownTopic: 0,
    droppedFromRefusedPeer: 0,
    refusedPeers: {
      "malformed-message": 0,
      "message-too-large": 0,
      "too-many-node-ids": 0,
      "too-many-ihave-entries": 0,
      "rate-limited": 0,
      "stalled-mid-frame": 0,
    },
  };

  constructor(me: NodeId, rng: Rng, config: GossipConfigInput | GossipConfig = {}) {
    this.me = me;
    this.#rng = rng;
    this.config = gossipConfig(config);
    this.#refused = new PeerCoolDown(this.config.limits.floodCooldownMs);
  }

  /** Topics joined and not left. */
  get topics(): Topic[] {
    return [...this.#topics.keys()];
  }

  /** The overlay of `topic`, if joined. */
  topic(topic: Topic): TopicGossip | undefined {
    return this.#topics.get(topic);
  }

  /** Joins `topic` through `bootstrap` (may be empty), or adds bootstrap nodes to a joined one. */
  join(topic: Topic, bootstrap: readonly NodeId[], now: number): GossipOutput[] {
    let t = this.#topics.get(topic);
    if (t === undefined) {
      t = new TopicGossip(topic, this.me, this.#rng, this.config);
      this.#topics.set(topic, t);
      this.#topicBytes.set(topic, Topic.toBytes(topic));
    }
    return this.#wrap(topic, t.join(bootstrap, now));
  }

  /** Asks `peers`, known to share the joined `topic`, to become neighbours while there is room. */
  requestNeighbours(topic: Topic, peers: readonly NodeId[], now: number): GossipOutput[] {
    const t = this.#topics.get(topic);
    if (t === undefined) return [];
    return this.#wrap(topic, t.requestNeighbours(peers, now));
  }

  /** Leaves `topic` (no-op if not joined). */
  quit(topic: Topic, now: number): GossipOutput[] {
    const t = this.#topics.get(topic);
    if (t === undefined) return [];
    const outputs = t.quit(now);
    this.#topics.delete(topic);
    const wrapped = this.#wrap(topic, outputs);
    this.#topicBytes.delete(topic);
    return wrapped;
  }

  /**
   * Broadcasts `content` on `topic`.
   *
   * @throws GossipTopicNotJoinedError if the topic is not joined.
   * @throws GossipMessageTooLargeError if `content` exceeds `maxMessageSize`.
   */
  broadcast(
    topic: Topic,
    content: Uint8Array,
    now: number,
  ): { id: Uint8Array; outputs: GossipOutput[] } {
    const t = this.#topics.get(topic);
    if (t === undefined) throw new GossipTopicNotJoinedError(topic);
    const { id, outputs } = t.broadcast(content, now);
    return { id, outputs: this.#wrap(topic, outputs) };
  }

  /** Handles a decoded CBOR value that arrived over the authenticated link to `from`. */
  handleMessage(from: NodeId, value: unknown, now: number): GossipOutput[] {
    if (this.#refused.has(from, now)) {
      this.metrics.droppedFromRefusedPeer++;
      return [];
    }
    let bucket = this.#buckets.get(from);
    if (bucket === undefined) {
      const { burst, perSecond } = this.config.limits.rateLimit;
      bucket = new TokenBucket(burst, perSecond, now);
      this.#buckets.set(from, bucket);
    }
    if (!bucket.take(now)) {
      return this.#refuse(
        from,
        new GossipProtocolError("rate-limited", "more messages than the link's rate limit"),
        now,
      );
    }
    let message: GossipMessage;
    try {
      message = decodeGossipMessage(value, this.config.limits);
    } catch (error) {
      // Whatever the decoder threw, the input came from the remote: refuse the remote, never
      // throw to the driver (an escaped error would take the whole node down).
      return this.#refuse(from, asProtocolError(error), now);
    }
    const topic = gossipMessageTopic(message);
    const t = this.#topics.get(topic);
    if (t === undefined) {
      this.metrics.droppedUnknownTopic++;
      return [];
    }
    this.metrics.messagesHandled++;
    return this.#wrap(topic, t.handleMessage(from, message.body, now));
  }

  /** The link to `peer` broke or could not be opened: every topic treats it as failed. */
  peerDisconnected(peer: NodeId, now: number): GossipOutput[] {
    this.#buckets.delete(peer);
    const out: GossipOutput[] = [];
    for (const [topic, t] of this.#topics) {
      out.push(...this.#wrap(topic, t.peerDisconnected(peer, now), peer));
    }
    return out;
  }

  /** A timer set by an earlier output fired. Timers of a left topic are ignored. */
  timerFired(timer: GossipTimer, now: number): GossipOutput[] {
    const t = this.#topics.get(timer.topic);
    if (t === undefined) return [];
    return this.#wrap(timer.topic, t.timerFired(timer.timer, now));
  }

  /**
   * The link to `from` delivered input that could not even be decoded (malformed CBOR, an
   * oversized frame): refuse the peer exactly as for a bad gossip message.
   */
  refuse(from: NodeId, error: GossipProtocolError, now: number): GossipOutput[] {
    return this.#refuse(from, error, now);
  }

  /** Whether `peer` is an active-view neighbour of any joined topic (its link is needed). */
  isNeighbour(peer: NodeId): boolean {
    for (const t of this.#topics.values()) if (t.membership.isActive(peer)) return true;
    return false;
  }

  /** Whether `peer` is on cool-down after misbehaving (its links are not accepted). */
  isRefused(peer: NodeId, now: number): boolean {
    return this.#refused.has(peer, now);
  }

  #refuse(from: NodeId, error: GossipProtocolError, now: number): GossipOutput[] {
    this.metrics.refusedPeers[error.reason]++;
    this.#refused.add(from, now);
    const out: GossipOutput[] = [
      {
        type: "event",
        event: { type: "gossip:peer-refused", at: now, node: from, reason: error.reason, error },
      },
      { type: "disconnect", peer: from, error },
    ];
    out.push(...this.peerDisconnected(from, now));
    return out;
  }

  /** Wraps a topic's outputs; drops link closes another topic still needs (or already done). */
  #wrap(topic: Topic, outputs: TopicOutput[], closed?: NodeId): GossipOutput[] {
    const bytes = this.#topicBytes.get(topic) as Uint8Array;
    const out: GossipOutput[] = [];
    for (const o of outputs) {
      switch (o.type) {
        case "send":
          out.push({ type: "send", to: o.to, message: { topic: bytes, body: o.message } });
          break;
        case "set-timer":
          out.push({ type: "set-timer", delayMs: o.delayMs, timer: { topic, timer: o.timer } });
          break;
        case "disconnect":
          if (o.peer !== closed && !this.#neededElsewhere(o.peer, topic)) {
            this.#buckets.delete(o.peer);
            out.push(o);
          }
          break;
        case "event":
          out.push(o);
          break;
      }
    }
    return out;
  }

  #neededElsewhere(peer: NodeId, topic: Topic): boolean {
    for (const [other, t] of this.#topics) {
      if (other !== topic && t.membership.isActive(peer)) return true;
    }
    return false;
  }
}

function asProtocolError(error: unknown): GossipProtocolError {
  if (error instanceof GossipProtocolError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new GossipProtocolError("malformed-message", reason);
}
