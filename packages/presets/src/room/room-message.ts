// The framing of the one-call API's ephemeral messages, inside a gossip message. Gossip itself
// carries no author (a delivery names only the neighbour that relayed it) and identifies a
// message by BLAKE3(content), so the same bytes twice within its id retention (90 s) are one
// message. The room therefore frames every message with its author, a random nonce and the
// author's signature: the same text published twice is two messages, and `from` is the author,
// not the relay.
import {
  concatBytes,
  DecodeError,
  decodeCbor,
  encodeCbor,
  type Identity,
  NodeId,
  type Rng,
  Topic,
  toHex,
  verifySignature,
} from "@p2panda-web/core";

/** Version of the framing; a message of another version is not ours and is dropped. */
export const ROOM_MESSAGE_VERSION = 1;
/** Random bytes per message: a collision within the 90 s retention is out of reach. */
export const ROOM_NONCE_LENGTH = 16;
/**
 * Bytes the framing adds to the content (CBOR array and heads, version, 32-byte author, nonce,
 * 64-byte signature), with the content's own CBOR head at its largest below 64 KiB.
 */
export const ROOM_MESSAGE_OVERHEAD = 1 + 1 + (2 + 32) + (1 + ROOM_NONCE_LENGTH) + 3 + (2 + 64);

const SIGNING_DOMAIN = new TextEncoder().encode("p2panda-web/room-message/v1");

/** An ephemeral message of a room, as received. */
export interface RoomMessage {
  /** The author (who signed it), whichever neighbour relayed it. */
  readonly from: NodeId;
  readonly content: Uint8Array;
  /** The message's unique id (its nonce, hex). */
  readonly id: string;
  /** The content as UTF-8 text. */
  text(): string;
}

/** What a framed message holds before its signature is checked. */
interface FramedMessage {
  readonly author: Uint8Array;
  readonly nonce: Uint8Array;
  readonly content: Uint8Array;
  readonly signature: Uint8Array;
}

/** What is signed: the domain, the topic (a message cannot be replayed into another), nonce and content. */
function signedBytes(topic: Topic, author: Uint8Array, nonce: Uint8Array, content: Uint8Array) {
  return concatBytes(SIGNING_DOMAIN, Topic.toBytes(topic), author, nonce, content);
}

/** Frames and signs `content` for `topic` with a fresh nonce from `rng`; `id` is the nonce (hex). */
export async function encodeRoomMessage(
  identity: Identity,
  topic: Topic,
  content: Uint8Array,
  rng: Rng,
): Promise<{ readonly bytes: Uint8Array; readonly id: string }> {
  const author = identity.publicKey;
  const nonce = rng.bytes(ROOM_NONCE_LENGTH);
  const signature = await identity.sign(signedBytes(topic, author, nonce, content));
  return {
    bytes: encodeCbor([ROOM_MESSAGE_VERSION, author, nonce, content, signature]),
    id: toHex(nonce),
  };
}

function isBytes(value: unknown, length?: number): value is Uint8Array {
  return value instanceof Uint8Array && (length === undefined || value.length === length);
}

function parse(bytes: Uint8Array): FramedMessage | undefined {
  let value: unknown;
  try {
    value = decodeCbor(bytes, { maxDepth: 1 });
  } catch (error) {
    if (error instanceof DecodeError) return undefined;
    throw error;
  }
  if (!Array.isArray(value) || value.length !== 5) return undefined;
  const [version, author, nonce, content, signature] = value as unknown[];
  if (version !== ROOM_MESSAGE_VERSION) return undefined;
  if (!isBytes(author, 32) || !isBytes(nonce, ROOM_NONCE_LENGTH) || !isBytes(content)) {
    return undefined;
  }
  if (!isBytes(signature, 64)) return undefined;
  return { author, nonce, content, signature };
}

/**
 * The message framed in `bytes` for `topic`, or `undefined` when it is not a well-formed room
 * message of this version with a valid signature of its author (such messages are dropped:
 * gossip on the topic may carry other framings, and a forged author must not get through).
 */
export async function decodeRoomMessage(
  topic: Topic,
  bytes: Uint8Array,
): Promise<RoomMessage | undefined> {
  const framed = parse(bytes);
  if (framed === undefined) return undefined;
  const { author, nonce, content, signature } = framed;
  if (!(await verifySignature(author, signedBytes(topic, author, nonce, content), signature))) {
    return undefined;
  }
  return {
    from: NodeId.fromBytes(author),
    content,
    id: toHex(nonce),
    text: () => new TextDecoder().decode(content),
  };
}
