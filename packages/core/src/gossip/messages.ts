import { bytesEqual } from "../bytes.ts";
import { expectBytes, expectMap, isBytes, taggedRecord } from "../codec/message-shape.ts";
import { HASH_LENGTH, hash } from "../hash.ts";
import { NODE_ID_LENGTH } from "../ids/node-id.ts";
import { TOPIC_LENGTH, Topic } from "../ids/topic.ts";
import { DEFAULT_GOSSIP_LIMITS, type GossipLimits } from "./config.ts";
import { GossipProtocolError } from "./errors.ts";

/** HyParView: ask the receiver to take us into its active view and announce us further. */
export interface JoinMessage {
  readonly type: "join";
}
/** HyParView: a random walk announcing `node` (32 bytes) as a new member. */
export interface ForwardJoinMessage {
  readonly type: "forward-join";
  readonly node: Uint8Array;
  readonly ttl: number;
}
/** HyParView: a random walk carrying a sample of `origin`'s views to exchange passive nodes. */
export interface ShuffleMessage {
  readonly type: "shuffle";
  readonly origin: Uint8Array;
  readonly nodes: readonly Uint8Array[];
  readonly ttl: number;
}
/** HyParView: the walk's end node answers `origin` directly with a sample of its passive view. */
export interface ShuffleReplyMessage {
  readonly type: "shuffle-reply";
  readonly nodes: readonly Uint8Array[];
}
/** HyParView: ask to become neighbours. `high` must be accepted (the sender has no neighbour). */
export interface NeighborMessage {
  readonly type: "neighbor";
  readonly priority: "high" | "low";
}
/** HyParView: we drop the link; `alive` = we keep running (keep us in your passive view). */
export interface DisconnectMessage {
  readonly type: "disconnect";
  readonly alive: boolean;
}
/** PlumTree: a full message; `id` = BLAKE3(content), `round` = hops from the origin minus one. */
export interface GossipPayloadMessage {
  readonly type: "gossip";
  readonly id: Uint8Array;
  readonly content: Uint8Array;
  readonly round: number;
}
/** PlumTree: lazy announcements, `[id, round]` pairs. */
export interface IHaveMessage {
  readonly type: "ihave";
  readonly entries: readonly (readonly [Uint8Array, number])[];
}
/** PlumTree: make the link eager again and, if `id` is set, send that message. */
export interface GraftMessage {
  readonly type: "graft";
  readonly id: Uint8Array | null;
  readonly round: number;
}
/** PlumTree: make the link lazy (we received a duplicate over it). */
export interface PruneMessage {
  readonly type: "prune";
}

/** A message of one topic's overlay: HyParView membership or PlumTree broadcast. */
export type TopicMessage =
  | JoinMessage
  | ForwardJoinMessage
  | ShuffleMessage
  | ShuffleReplyMessage
  | NeighborMessage
  | DisconnectMessage
  | GossipPayloadMessage
  | IHaveMessage
  | GraftMessage
  | PruneMessage;

/** The `type` tag of a {@link TopicMessage}. */
export type TopicMessageType = TopicMessage["type"];

/**
 * What goes over a gossip link: a topic message tagged with its 32-byte topic. Plain objects
 * encoded as CBOR maps with text keys; ids are CBOR byte strings.
 */
export interface GossipMessage {
  readonly topic: Uint8Array;
  readonly body: TopicMessage;
}

/**
 * The topic a {@link GossipMessage} is for. Its 32 bytes were checked by
 * {@link decodeGossipMessage}, so this cannot throw for a decoded message.
 */
export function gossipMessageTopic(message: GossipMessage): Topic {
  return Topic.fromBytes(message.topic);
}

/** Membership message kinds (the rest belong to PlumTree). */
export const MEMBERSHIP_MESSAGE_TYPES: ReadonlySet<TopicMessageType> = new Set([
  "join",
  "forward-join",
  "shuffle",
  "shuffle-reply",
  "neighbor",
  "disconnect",
]);

const FIELDS: Record<TopicMessageType, readonly string[]> = {
  join: ["type"],
  "forward-join": ["node", "ttl", "type"],
  shuffle: ["nodes", "origin", "ttl", "type"],
  "shuffle-reply": ["nodes", "type"],
  neighbor: ["priority", "type"],
  disconnect: ["alive", "type"],
  gossip: ["content", "id", "round", "type"],
  ihave: ["entries", "type"],
  graft: ["id", "round", "type"],
  prune: ["type"],
};

/**
 * Checks that a decoded CBOR value is a well-formed {@link GossipMessage} within `limits`.
 * Counts and sizes are checked before elements are looked at; unknown fields are refused; a
 * `gossip` message's id must be the BLAKE3 hash of its content (so nobody can pre-empt a
 * message id with other content). Returns the value typed, never copies.
 *
 * @throws GossipProtocolError with reason `malformed-message`, `message-too-large`,
 *   `too-many-node-ids` or `too-many-ihave-entries`.
 */
export function decodeGossipMessage(
  value: unknown,
  limits: Partial<GossipLimits> = {},
): GossipMessage {
  const record = expectMap(value, malformed);
  const keys = Object.keys(record).sort();
  if (keys.length !== 2 || keys[0] !== "body" || keys[1] !== "topic") {
    throw malformed("fields must be exactly body, topic");
  }
  checkBytes(record.topic, TOPIC_LENGTH, "topic");
  decodeTopicMessage(record.body, limits);
  return value as GossipMessage;
}

/**
 * Checks one topic's message (see {@link decodeGossipMessage}).
 *
 * @throws GossipProtocolError as {@link decodeGossipMessage}.
 */
export function decodeTopicMessage(
  value: unknown,
  limits: Partial<GossipLimits> = {},
): TopicMessage {
  const l = { ...DEFAULT_GOSSIP_LIMITS, ...limits };
  const { type, record } = taggedRecord(value, FIELDS, malformed);
  switch (type) {
    case "join":
    case "prune":
      break;
    case "forward-join":
      checkBytes(record.node, NODE_ID_LENGTH, "node");
      checkInt(record.ttl, l.maxTtl, "ttl");
      break;
    case "shuffle":
      checkBytes(record.origin, NODE_ID_LENGTH, "origin");
      checkInt(record.ttl, l.maxTtl, "ttl");
      checkNodes(record.nodes, l.maxShuffleNodes);
      break;
    case "shuffle-reply":
      checkNodes(record.nodes, l.maxShuffleNodes);
      break;
    case "neighbor":
      if (record.priority !== "high" && record.priority !== "low") {
        throw malformed("priority must be high or low");
      }
      break;
    case "disconnect":
      if (typeof record.alive !== "boolean") throw malformed("alive must be a boolean");
      break;
    case "gossip": {
      checkBytes(record.id, HASH_LENGTH, "id");
      checkInt(record.round, l.maxRound, "round");
      const content = record.content;
      if (!isBytes(content)) throw malformed("content must be bytes");
      if (content.length > l.maxMessageSize) {
        throw new GossipProtocolError(
          "message-too-large",
          `content of ${content.length} bytes, at most ${l.maxMessageSize} allowed`,
        );
      }
      if (!bytesEqual(hash(content), record.id)) throw malformed("id is not the content's hash");
      break;
    }
    case "ihave": {
      const entries = record.entries;
      if (!Array.isArray(entries)) throw malformed("entries must be an array");
      if (entries.length > l.maxIHaveEntries) {
        throw new GossipProtocolError(
          "too-many-ihave-entries",
          `${entries.length} entries, at most ${l.maxIHaveEntries} allowed`,
        );
      }
      for (const entry of entries) {
        if (!Array.isArray(entry) || entry.length !== 2) throw malformed("entry must be a pair");
        checkBytes(entry[0], HASH_LENGTH, "id");
        checkInt(entry[1], l.maxRound, "round");
      }
      break;
    }
    case "graft":
      if (record.id !== null) checkBytes(record.id, HASH_LENGTH, "id");
      checkInt(record.round, l.maxRound, "round");
      break;
  }
  return value as TopicMessage;
}

function checkNodes(value: unknown, max: number): void {
  if (!Array.isArray(value)) throw malformed("nodes must be an array");
  if (value.length > max) {
    throw new GossipProtocolError(
      "too-many-node-ids",
      `${value.length} node ids, at most ${max} allowed`,
    );
  }
  for (const id of value) checkBytes(id, NODE_ID_LENGTH, "node id");
}

function checkInt(value: unknown, max: number, what: string): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    throw malformed(`${what} must be an integer in [0, ${max}]`);
  }
}

function checkBytes(value: unknown, length: number, what: string): asserts value is Uint8Array {
  expectBytes(value, length, what, malformed);
}

function malformed(message: string): GossipProtocolError {
  return new GossipProtocolError("malformed-message", message);
}
