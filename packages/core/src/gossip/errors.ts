import { P2pandaError } from "../errors.ts";
import type { NodeId } from "../ids/node-id.ts";
import { ServiceStoppedError } from "../runtime/lifecycle.ts";

/** Why a remote's gossip input was refused. All are the remote's fault. */
export type GossipFailureReason =
  /** Not one of our messages: wrong shape, byte lengths, unknown fields or kind. */
  | "malformed-message"
  /** Content larger than `maxMessageSize`. */
  | "message-too-large"
  /** More node ids in a `shuffle` / `shuffle-reply` than `maxShuffleNodes`. */
  | "too-many-node-ids"
  /** More entries in an `ihave` than `maxIHaveEntries`. */
  | "too-many-ihave-entries"
  /** More messages than the per-link token bucket allows. */
  | "rate-limited"
  /** A frame that had started did not complete within the frame timeout (10 s). */
  | "stalled-mid-frame";

/**
 * A remote sent gossip input we refuse. The link to it is closed (output `disconnect` with this
 * error) and the reason counted in the metrics; the node itself never throws.
 */
export class GossipProtocolError extends P2pandaError {
  static override readonly name: string = "GossipProtocolError";
  /** Machine-readable reason, stable across versions. */
  readonly reason: GossipFailureReason;

  constructor(reason: GossipFailureReason, message: string) {
    super("GOSSIP_PROTOCOL", `${reason}: ${message}`);
    this.reason = reason;
  }
}

/** `broadcast` was given more bytes than `maxMessageSize` (spec §5.1 `large_message_error`). */
export class GossipMessageTooLargeError extends P2pandaError {
  static override readonly name: string = "GossipMessageTooLargeError";
  readonly size: number;
  readonly maxMessageSize: number;

  constructor(size: number, maxMessageSize: number) {
    super(
      "GOSSIP_MESSAGE_TOO_LARGE",
      `message of ${size} bytes exceeds the maximum of ${maxMessageSize} bytes`,
    );
    this.size = size;
    this.maxMessageSize = maxMessageSize;
  }
}

/** A command named a topic this node has not joined (or has left). */
export class GossipTopicNotJoinedError extends P2pandaError {
  static override readonly name: string = "GossipTopicNotJoinedError";
  constructor(topic: string) {
    super("GOSSIP_TOPIC_NOT_JOINED", `topic ${topic.slice(0, 8)}… is not joined`);
  }
}

/** The gossip service was stopped, or a closed handle was used. */
export class GossipStoppedError extends ServiceStoppedError {
  static override readonly name: string = "GossipStoppedError";
  constructor(message = "gossip is stopped") {
    super("gossip", "GOSSIP_STOPPED");
    this.message = message;
  }
}

/** An incoming gossip stream was refused: link cap reached or the peer is on cool-down. */
export class GossipLinkRefusedError extends P2pandaError {
  static override readonly name: string = "GossipLinkRefusedError";
  constructor(peer: NodeId) {
    super("GOSSIP_LINK_REFUSED", `gossip stream from ${peer.slice(0, 8)} refused`);
  }
}

/** A link no overlay needed was closed to make room for another, or because it was idle. */
export class GossipLinkEvictedError extends P2pandaError {
  static override readonly name: string = "GossipLinkEvictedError";
  constructor(peer: NodeId) {
    super("GOSSIP_LINK_EVICTED", `gossip link to ${peer.slice(0, 8)} closed: not needed, idle`);
  }
}

/** A peer read our messages too slowly: its link was dropped. */
export class GossipSlowPeerError extends P2pandaError {
  static override readonly name: string = "GossipSlowPeerError";
  constructor(peer: NodeId, max: number) {
    super("GOSSIP_SLOW_PEER", `more than ${max} messages waiting for ${peer.slice(0, 8)}`);
  }
}
