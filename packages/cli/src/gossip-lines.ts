// The JSON lines `node --gossip` prints: what the topics' overlays report, one object per line.
import { type Topic, toHex } from "@p2panda-web/core";
import {
  DEFAULT_PLUMTREE_CONFIG,
  GossipMessageTooLargeError,
  type GossipServiceEvent,
} from "@p2panda-web/core/gossip";

/**
 * A message received on a topic. `topic` is the name given with `--topic`; `from` is the
 * neighbour that delivered it, not necessarily its author (gossip carries no origin). `text` is
 * the content as UTF-8; content that is not valid UTF-8 (a browser's CBOR, say) comes as `hex`
 * instead.
 */
export interface GossipMessageLine {
  readonly event: "gossip-message";
  readonly topic: string;
  readonly from: string;
  readonly text?: string;
  readonly hex?: string;
  readonly hops: number;
}

/** A line printed per overlay event, refused peer and line that could not be published. */
export type GossipLine =
  | GossipMessageLine
  | { readonly event: "gossip-joined"; readonly topic: string; readonly nodes: string[] }
  | {
      readonly event: "gossip-neighbour-up" | "gossip-neighbour-down";
      readonly topic: string;
      readonly node: string;
    }
  | { readonly event: "gossip-left"; readonly topic: string }
  | { readonly event: "gossip-peer-refused"; readonly node: string; readonly reason: string }
  | { readonly event: "gossip-publish-failed"; readonly topic: string; readonly reason: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The line for `event`, or undefined when there is none: the event is of a topic `topicName`
 * does not name (sync's internal overlays), or of a kind not printed.
 */
export function gossipLine(
  event: GossipServiceEvent,
  topicName: (topic: Topic) => string | undefined,
): GossipLine | undefined {
  if (event.type === "gossip:peer-refused") {
    return { event: "gossip-peer-refused", node: event.node, reason: event.reason };
  }
  const topic = topicName(event.topic);
  if (topic === undefined) return undefined;
  switch (event.type) {
    case "gossip:received": {
      let text: string | undefined;
      try {
        text = utf8.decode(event.content);
      } catch {
        text = undefined;
      }
      return {
        event: "gossip-message",
        topic,
        from: event.deliveredBy,
        ...(text !== undefined ? { text } : { hex: toHex(event.content) }),
        hops: event.hops,
      };
    }
    case "gossip:joined":
      return { event: "gossip-joined", topic, nodes: [...event.nodes] };
    case "gossip:neighbour-up":
      return { event: "gossip-neighbour-up", topic, node: event.node };
    case "gossip:neighbour-down":
      return { event: "gossip-neighbour-down", topic, node: event.node };
    case "gossip:left":
      return { event: "gossip-left", topic };
    default:
      return undefined;
  }
}

/** The line for a `publish` that threw `error`. */
export function publishFailedLine(topic: string, error: unknown): GossipLine {
  const reason =
    error instanceof GossipMessageTooLargeError
      ? `message of ${error.size} bytes exceeds ${error.maxMessageSize}`
      : error instanceof Error
        ? error.message
        : String(error);
  return { event: "gossip-publish-failed", topic, reason };
}

/**
 * How long gossip remembers a message id: content identical to a message sent or received this
 * recently is dropped by `publish` without an error (the id is the content's hash).
 */
export const GOSSIP_ID_RETENTION_MS = DEFAULT_PLUMTREE_CONFIG.messageIdRetentionMs;

/**
 * Ids of the messages sent and received per topic within {@link GOSSIP_ID_RETENTION_MS}, so that
 * a line gossip silently drops as a repeat is reported instead of seeming sent.
 */
export class RecentGossip {
  /** `topic/id` → when first seen; insertion order is time order. */
  readonly #seen = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * Records a message sent or received; returns false when the same content was already seen
   * within the retention (gossip then did not send it again).
   */
  remember(topic: Topic, id: Uint8Array): boolean {
    const now = this.#now();
    for (const [key, at] of this.#seen) {
      if (now - at < GOSSIP_ID_RETENTION_MS) break;
      this.#seen.delete(key);
    }
    const key = `${topic}/${toHex(id)}`;
    if (this.#seen.has(key)) return false;
    this.#seen.set(key, now);
    return true;
  }
}

/** The line for a line gossip did not send because identical content was seen recently. */
export function repeatedLine(topic: string): GossipLine {
  return {
    event: "gossip-publish-failed",
    topic,
    reason: `the same text was sent or received on this topic in the last ${GOSSIP_ID_RETENTION_MS / 1000} s; gossip delivers identical content once`,
  };
}
