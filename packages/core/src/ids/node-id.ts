import { publicKeyFromProtobuf } from "@libp2p/crypto/keys";
import type { PeerId } from "@libp2p/interface";
import { peerIdFromPublicKey, peerIdFromString } from "@libp2p/peer-id";
import { concatBytes, fromHex, toHex } from "../bytes.ts";
import { InvalidInputError } from "../errors.ts";

/**
 * Identifier of a node: its Ed25519 public key as 64 lower-case hex characters. A string, so it
 * can key a `Map` or `Set` and be stored as is. The same key is the node's libp2p PeerId.
 */
export type NodeId = string & { readonly __brand: "NodeId" };

/** Length of a node id in bytes. */
export const NODE_ID_LENGTH = 32;

const NODE_ID_HEX = /^[0-9a-f]{64}$/;

/**
 * libp2p's protobuf `PublicKey` header for an Ed25519 key (Type = 1, then 32 bytes of Data).
 * `publicKeyFromProtobuf` reads it with code libp2p ships anyway (identify, Noise), where
 * `publicKeyFromRaw` would add its RSA and ECDSA DER parsers to the bundle.
 */
const ED25519_PUBLIC_KEY_PROTOBUF = Uint8Array.of(0x08, 0x01, 0x12, NODE_ID_LENGTH);

/** Constructors and conversions for {@link NodeId}. */
export const NodeId = {
  /** From the 32 bytes of an Ed25519 public key. Throws `InvalidInputError` on another length. */
  fromBytes(bytes: Uint8Array): NodeId {
    if (bytes.length !== NODE_ID_LENGTH) throw new InvalidInputError("a node id is 32 bytes");
    return toHex(bytes) as NodeId;
  },
  /** From hex (either case). Throws `InvalidInputError` unless it is 32 bytes of hex. */
  fromHex(hex: string): NodeId {
    const lower = hex.toLowerCase();
    if (!NODE_ID_HEX.test(lower)) throw new InvalidInputError("a node id is 64 hex characters");
    return lower as NodeId;
  },
  /** Whether `value` is a well-formed node id string. */
  is(value: unknown): value is NodeId {
    return typeof value === "string" && NODE_ID_HEX.test(value);
  },
  /** The 32 public-key bytes. */
  toBytes(id: NodeId): Uint8Array {
    return fromHex(id, NODE_ID_LENGTH);
  },
  /** The libp2p PeerId that embeds this Ed25519 key. */
  toPeerId(id: NodeId): PeerId {
    return peerIdFromPublicKey(
      publicKeyFromProtobuf(concatBytes(ED25519_PUBLIC_KEY_PROTOBUF, NodeId.toBytes(id))),
    );
  },
  /**
   * The node id of a libp2p PeerId (object or base58/CID string). Throws `InvalidInputError` for a
   * string that is not a peer id and for a peer id that is not an Ed25519 key.
   */
  fromPeerId(peerId: PeerId | string): NodeId {
    let id: PeerId;
    try {
      id = typeof peerId === "string" ? peerIdFromString(peerId) : peerId;
    } catch (error) {
      // Peer id strings come from the network (multiaddrs): a malformed one is bad input.
      throw new InvalidInputError(`not a peer id: ${String(peerId).slice(0, 100)}`, {
        cause: error,
      });
    }
    if (id.type !== "Ed25519" || id.publicKey === undefined) {
      throw new InvalidInputError(`peer id ${id.toString()} is not an Ed25519 key`);
    }
    return NodeId.fromBytes(id.publicKey.raw);
  },
  /** First 8 hex characters, for logs and UIs. */
  short(id: NodeId): string {
    return id.slice(0, 8);
  },
};
