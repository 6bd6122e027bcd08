import { bytesEqual, toHex } from "../bytes.ts";
import { expectBytes, expectMap, taggedRecord } from "../codec/message-shape.ts";
import { HASH_LENGTH } from "../hash.ts";
import { NODE_ID_LENGTH } from "../ids/node-id.ts";
import { DiscoveryProtocolError } from "./errors.ts";

/** Length of each party's salt half in bytes. */
export const SALT_HALF_LENGTH = 32;

/**
 * Default cap on topic hashes in one message: a node with more topics than this cannot take
 * part in discovery with its full set, and a remote cannot make us hash more than this many
 * values per session. 1,024 hashes are 32 KiB on the wire.
 */
export const DEFAULT_MAX_TOPIC_HASHES = 1024;

/**
 * Default cap on transport infos in one `nodes` message. A remote cannot make us verify and
 * store more than this many infos per session; when we hold more than this, we hand out a
 * sample (our own always included). 256 signed infos are roughly 40 KiB.
 */
export const DEFAULT_MAX_TRANSPORT_INFOS = 256;

/** Caps checked on every incoming message before anything else is done with it. */
export interface DiscoveryLimits {
  /** Max topic hashes per message. Default {@link DEFAULT_MAX_TOPIC_HASHES}. */
  maxTopicHashes?: number;
  /** Max transport infos per `nodes` message. Default {@link DEFAULT_MAX_TRANSPORT_INFOS}. */
  maxTransportInfos?: number;
}

/** Step 1, Alice → Bob: her random half of the session salt. */
export interface AliceSaltHalfMessage {
  readonly type: "alice-salt-half";
  readonly saltHalf: Uint8Array;
}

/** Step 2, Bob → Alice: his salt half and his topics hashed with Bob's salt. */
export interface BobSaltHalfAndHashesMessage {
  readonly type: "bob-salt-half-and-hashes";
  readonly saltHalf: Uint8Array;
  /** `BLAKE3(topic ‖ aliceHalf ‖ bobHalf ‖ 0x01)` per topic of Bob, sorted, no duplicates. */
  readonly topicHashes: readonly Uint8Array[];
}

/** Step 3, Alice → Bob: her topics hashed with Alice's salt. */
export interface AliceHashesMessage {
  readonly type: "alice-hashes";
  /** `BLAKE3(topic ‖ aliceHalf ‖ bobHalf ‖ 0x00)` per topic of Alice, sorted, no duplicates. */
  readonly topicHashes: readonly Uint8Array[];
}

/**
 * Steps 4 (Bob → Alice) and 5 (Alice → Bob): transport infos of other nodes as
 * `[nodeIdBytes (32), info]` pairs. The info is opaque to the PSI layer; whoever stores it
 * verifies it against the node id first.
 */
export interface NodesMessage {
  readonly type: "nodes";
  readonly transportInfos: readonly (readonly [Uint8Array, unknown])[];
  /**
   * Member referrals (p2panda-web's addition, optional): positions in `transportInfos` of the
   * nodes the sender itself found, in sessions of its own, to share a topic of this session's
   * intersection. Sent only when the intersection is not empty, so only a proven member of a
   * topic hears who else is in it; the receiver treats them as hints to verify with a session
   * of its own, never as facts. Ascending, no duplicates.
   */
  readonly members?: readonly number[];
}

/**
 * A message of the confidential discovery protocol (PSI-hash). Plain objects with a `type`
 * tag, encoded as CBOR maps with text keys; byte strings are CBOR byte strings.
 */
export type DiscoveryMessage =
  | AliceSaltHalfMessage
  | BobSaltHalfAndHashesMessage
  | AliceHashesMessage
  | NodesMessage;

/** The `type` tag of a {@link DiscoveryMessage}. */
export type DiscoveryMessageType = DiscoveryMessage["type"];

const FIELDS: Record<DiscoveryMessageType, readonly string[]> = {
  "alice-salt-half": ["saltHalf", "type"],
  "bob-salt-half-and-hashes": ["saltHalf", "topicHashes", "type"],
  "alice-hashes": ["topicHashes", "type"],
  nodes: ["transportInfos", "type"],
};

const OPTIONAL_FIELDS: Partial<Record<DiscoveryMessageType, readonly string[]>> = {
  nodes: ["members"],
};

/**
 * Checks that a decoded CBOR value is a well-formed {@link DiscoveryMessage} within `limits`.
 * Counts are checked before any element is looked at, so an oversized message costs nothing.
 * Unknown fields are refused. Returns the value typed; never copies.
 *
 * @throws DiscoveryProtocolError with reason `malformed-message`, `too-many-topic-hashes` or
 *   `too-many-transport-infos`.
 */
export function decodeDiscoveryMessage(
  value: unknown,
  limits: DiscoveryLimits = {},
): DiscoveryMessage {
  const maxHashes = limits.maxTopicHashes ?? DEFAULT_MAX_TOPIC_HASHES;
  const maxInfos = limits.maxTransportInfos ?? DEFAULT_MAX_TRANSPORT_INFOS;
  const { type, record } = taggedRecord(value, FIELDS, malformed, OPTIONAL_FIELDS);
  switch (type) {
    case "alice-salt-half":
      checkBytes(record.saltHalf, SALT_HALF_LENGTH, "saltHalf");
      break;
    case "bob-salt-half-and-hashes":
      checkBytes(record.saltHalf, SALT_HALF_LENGTH, "saltHalf");
      checkHashes(record.topicHashes, maxHashes);
      break;
    case "alice-hashes":
      checkHashes(record.topicHashes, maxHashes);
      break;
    case "nodes":
      checkInfos(record.transportInfos, maxInfos);
      if (Object.hasOwn(record, "members")) {
        checkMembers(record.members, (record.transportInfos as unknown[]).length);
      }
      break;
  }
  return value as DiscoveryMessage;
}

function checkHashes(value: unknown, max: number): void {
  if (!Array.isArray(value)) throw malformed("topicHashes must be an array");
  if (value.length > max) {
    throw new DiscoveryProtocolError(
      "too-many-topic-hashes",
      `${value.length} topic hashes, at most ${max} allowed`,
    );
  }
  for (const h of value) checkBytes(h, HASH_LENGTH, "topic hash");
}

function checkMembers(value: unknown, infos: number): void {
  if (!Array.isArray(value)) throw malformed("members must be an array");
  if (value.length > infos) throw malformed("more members than transport infos");
  let previous = -1;
  for (const position of value as unknown[]) {
    if (
      typeof position !== "number" ||
      !Number.isSafeInteger(position) ||
      position <= previous ||
      position >= infos
    ) {
      throw malformed("members must be ascending positions in transportInfos");
    }
    previous = position;
  }
}

function checkInfos(value: unknown, max: number): void {
  if (!Array.isArray(value)) throw malformed("transportInfos must be an array");
  if (value.length > max) {
    throw new DiscoveryProtocolError(
      "too-many-transport-infos",
      `${value.length} transport infos, at most ${max} allowed`,
    );
  }
  // Duplicate check keyed by the first 6 bytes (a number, cheap to hash); exact on collision.
  const seen = new Map<number, Uint8Array>();
  let collided: Set<string> | undefined;
  for (const pair of value) {
    if (!Array.isArray(pair) || pair.length !== 2) throw malformed("transport info must be a pair");
    const id: unknown = pair[0];
    checkBytes(id, NODE_ID_LENGTH, "node id");
    // The info itself is checked by whoever stores it; a map is all this layer can demand.
    expectMap(pair[1], () => malformed("transport info must be a map"));
    const key =
      (id[0] as number) * 2 ** 40 +
      (id[1] as number) * 2 ** 32 +
      ((((id[2] as number) << 24) |
        ((id[3] as number) << 16) |
        ((id[4] as number) << 8) |
        (id[5] as number)) >>>
        0);
    const other = seen.get(key);
    if (other === undefined) {
      seen.set(key, id);
      continue;
    }
    if (bytesEqual(other, id)) throw malformed("the same node id twice");
    collided ??= new Set();
    const hex = toHex(id);
    if (collided.has(hex)) throw malformed("the same node id twice");
    collided.add(hex);
  }
}

function checkBytes(value: unknown, length: number, what: string): asserts value is Uint8Array {
  expectBytes(value, length, what, malformed);
}

function malformed(message: string): DiscoveryProtocolError {
  return new DiscoveryProtocolError("malformed-message", message);
}
