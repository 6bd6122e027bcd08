import { fromHex, toHex } from "../bytes.ts";
import { InvalidInputError } from "../errors.ts";
import { hash } from "../hash.ts";

/**
 * Separates networks: nodes with different network ids cannot negotiate any protocol. 32 bytes
 * as 64 lower-case hex characters. Not secret.
 */
export type NetworkId = string & { readonly __brand: "NetworkId" };

const NETWORK_ID_HEX = /^[0-9a-f]{64}$/;

/** Constructors for {@link NetworkId}. */
export const NetworkId = {
  /** The default network id of p2panda (the same constant as upstream p2panda-net). */
  DEFAULT: "f745f8f284789fe66264d6c84e284f5eae080c1b54c3f69f84f04fd0012b8476" as NetworkId,
  /** From hex (either case). Throws `InvalidInputError` unless it is 32 bytes of hex. */
  fromHex(hex: string): NetworkId {
    const lower = hex.toLowerCase();
    if (!NETWORK_ID_HEX.test(lower))
      throw new InvalidInputError("a network id is 64 hex characters");
    return lower as NetworkId;
  },
  /** From 32 bytes. */
  fromBytes(bytes: Uint8Array): NetworkId {
    if (bytes.length !== 32) throw new InvalidInputError("a network id is 32 bytes");
    return toHex(bytes) as NetworkId;
  },
  /** A network id derived from a name, for apps that want their own network. */
  fromName(name: string): NetworkId {
    return toHex(hash(new TextEncoder().encode(name))) as NetworkId;
  },
  /** The 32 bytes. */
  toBytes(id: NetworkId): Uint8Array {
    return fromHex(id, 32);
  },
};

/** Names of the p2panda protocols, before they are bound to a network. */
export const ProtocolName = {
  discovery: "p2panda/confidential_discovery/v1",
  logSync: "p2panda/log_sync/v1",
  gossip: "p2panda/gossip/v1",
} as const;

/**
 * The hash that binds a protocol name to a network: `BLAKE3(protocolName ‖ networkId)`.
 */
export function protocolHash(protocolName: string, networkId: NetworkId): Uint8Array {
  return hash(new TextEncoder().encode(protocolName), NetworkId.toBytes(networkId));
}

/**
 * The libp2p protocol string of a p2panda protocol on a network: `/p2panda/<hex of
 * BLAKE3(protocolName ‖ networkId)>`. Two networks never share a protocol string.
 */
export function protocolId(protocolName: string, networkId: NetworkId): string {
  return `/p2panda/${toHex(protocolHash(protocolName, networkId))}`;
}
