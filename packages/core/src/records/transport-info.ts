import { type Component, multiaddr } from "@multiformats/multiaddr";
import { bytesEqual } from "../bytes.ts";
import { DecodeError, encodeCbor } from "../codec/cbor.ts";
import { isBytes } from "../codec/message-shape.ts";
import { InvalidInputError, P2pandaError } from "../errors.ts";
import { HybridTimestamp } from "../hybrid-timestamp.ts";
import { verifySignature } from "../identity/ed25519.ts";
import type { Identity } from "../identity/identity.ts";
import { NodeId } from "../ids/node-id.ts";

/**
 * Addresses received through a trusted side channel (a QR code, a config file). Used locally
 * only, never handed to others.
 */
export interface TrustedTransportInfo {
  readonly kind: "trusted";
  readonly addresses: readonly string[];
}

/**
 * Addresses signed by the node they belong to, so they can travel through untrusted
 * intermediaries (discovery). Only these are shared with other nodes.
 */
export interface AuthenticatedTransportInfo {
  readonly kind: "authenticated";
  /** When the node issued this info; the newest wins. */
  readonly timestamp: HybridTimestamp;
  /** Ed25519 signature over {@link transportInfoSigningBytes} of `timestamp` and `addresses`. */
  readonly signature: Uint8Array;
  /** Multiaddr strings, each ending in `/p2p/<peer id of the node>`. */
  readonly addresses: readonly string[];
}

/** Either kind of transport info. */
export type TransportInfo = TrustedTransportInfo | AuthenticatedTransportInfo;

/** Most addresses one transport info may carry. */
export const MAX_TRANSPORT_ADDRESSES = 16;
/** Longest address (in characters) a transport info may carry. */
export const MAX_ADDRESS_LENGTH = 1024;
/** Length of a transport info signature. */
export const SIGNATURE_LENGTH = 64;

/** A signature did not verify against the node id it claims to come from. */
export class InvalidSignatureError extends P2pandaError {
  static override readonly name: string = "InvalidSignatureError";
  constructor(message = "invalid signature", options?: { cause?: unknown }) {
    super("INVALID_SIGNATURE", message, options);
  }
}

/** An address names another node than the one it is claimed for, or names none. */
export class NodeIdMismatchError extends P2pandaError {
  static override readonly name: string = "NodeIdMismatchError";
  readonly address: string;
  constructor(address: string, message: string) {
    super("NODE_ID_MISMATCH", message);
    this.address = address;
  }
}

function tryComponents(address: string): Component[] | undefined {
  try {
    return multiaddr(address).getComponents();
  } catch {
    return undefined;
  }
}

/**
 * The transport an address is for, which decides what replaces what (one address per kind):
 * `"webrtc"` (browser-to-browser through a relay: `…/p2p-circuit/webrtc…`), `"webrtc-direct"`,
 * `"webtransport"`, `"websockets"` (`ws`, `wss`, `tls/ws`), `"tcp"`, `"memory"`, or `"other"`
 * (anything else, including strings that are not multiaddrs).
 */
export function transportKind(address: string): string {
  const components = tryComponents(address);
  if (components === undefined) return "other";
  const names = components.map((c) => c.name);
  const circuit = names.lastIndexOf("p2p-circuit");
  if (circuit >= 0) {
    return names.indexOf("webrtc", circuit) > circuit ? "webrtc" : "other";
  }
  if (names.includes("webrtc-direct")) return "webrtc-direct";
  if (names.includes("webtransport")) return "webtransport";
  if (names.includes("ws") || names.includes("wss")) return "websockets";
  if (names.includes("tcp")) return "tcp";
  if (names.includes("memory")) return "memory";
  return "other";
}

/**
 * What an address replaces: its {@link transportKind}, and for `webrtc` also its relay, so a
 * node keeps one circuit per relay (the bootstrap and each neighbour relaying for it).
 */
function transportSlot(address: string): string {
  const kind = transportKind(address);
  if (kind !== "webrtc") return kind;
  const components = tryComponents(address) ?? [];
  const circuit = components.map((c) => c.name).lastIndexOf("p2p-circuit");
  const relay = components[circuit - 1];
  return relay?.name === "p2p" ? `webrtc ${relay.value}` : kind;
}

/**
 * Keeps one address per {@link transportKind}, and per relay for `webrtc` circuits: a later
 * address of a kind (through the same relay) replaces the earlier one (in its position).
 */
export function deduplicateTransportAddresses(addresses: Iterable<string>): string[] {
  const bySlot = new Map<string, string>();
  for (const address of addresses) bySlot.set(transportSlot(address), address);
  return [...bySlot.values()];
}

/**
 * The node id an address dials: the value of its last component when that is `/p2p/<peer id>`
 * of an Ed25519 key. `undefined` otherwise (no `/p2p/` at the end, not a multiaddr, another key
 * type). Earlier `/p2p/` components name relays and are allowed.
 */
export function addressNodeId(address: string): NodeId | undefined {
  const last = tryComponents(address)?.at(-1);
  if (last?.name !== "p2p" || last.value === undefined) return undefined;
  try {
    return NodeId.fromPeerId(last.value);
  } catch {
    return undefined;
  }
}

/**
 * The bytes a node signs: deterministic CBOR of `{ timestamp: [physical, logical], addresses }`.
 */
export function transportInfoSigningBytes(
  timestamp: HybridTimestamp,
  addresses: readonly string[],
): Uint8Array {
  return encodeCbor({ timestamp: timestamp.toWire(), addresses: [...addresses] });
}

/**
 * Signs `addresses` as `identity`'s transport info at `timestamp`. Each address gets
 * `/p2p/<peer id>` appended when it does not end in one; one address is kept per transport kind
 * and per relay for circuits (the last given). Throws `InvalidInputError` for a string that is not a multiaddr, an address
 * longer than {@link MAX_ADDRESS_LENGTH} or more than {@link MAX_TRANSPORT_ADDRESSES} kinds
 * (others would refuse the result), and {@link NodeIdMismatchError} for an address ending in
 * another node's `/p2p/`.
 */
export async function signTransportInfo(
  identity: Identity,
  timestamp: HybridTimestamp,
  addresses: readonly string[],
): Promise<AuthenticatedTransportInfo> {
  const peerId = NodeId.toPeerId(identity.nodeId).toString();
  const normalised: string[] = [];
  for (const address of addresses) {
    let parsed: ReturnType<typeof multiaddr>;
    try {
      parsed = multiaddr(address);
    } catch (error) {
      throw new InvalidInputError(`not a multiaddr: ${address}`, { cause: error });
    }
    const last = parsed.getComponents().at(-1);
    if (last?.name === "p2p") {
      if (addressNodeId(address) !== identity.nodeId) {
        throw new NodeIdMismatchError(address, `address ${address} names another node`);
      }
    } else {
      parsed = parsed.encapsulate(`/p2p/${peerId}`);
    }
    const text = parsed.toString();
    if (text.length > MAX_ADDRESS_LENGTH) {
      throw new InvalidInputError(`address longer than ${MAX_ADDRESS_LENGTH} characters`);
    }
    normalised.push(text);
  }
  const unique = deduplicateTransportAddresses(normalised);
  if (unique.length > MAX_TRANSPORT_ADDRESSES) {
    throw new InvalidInputError(`more than ${MAX_TRANSPORT_ADDRESSES} transport addresses`);
  }
  const signature = await identity.sign(transportInfoSigningBytes(timestamp, unique));
  return { kind: "authenticated", timestamp, signature, addresses: unique };
}

/**
 * Checks that `info` was issued by `nodeId`: every address must end in `/p2p/<peer id of
 * nodeId>` (checked first, it is cheaper), then the signature must verify. Throws
 * {@link NodeIdMismatchError} (`NODE_ID_MISMATCH`) or {@link InvalidSignatureError}
 * (`INVALID_SIGNATURE`).
 */
export async function verifyTransportInfo(
  nodeId: NodeId,
  info: AuthenticatedTransportInfo,
): Promise<void> {
  for (const address of info.addresses) {
    const named = addressNodeId(address);
    if (named === undefined) {
      throw new NodeIdMismatchError(address, `address ${address} does not end in /p2p/<node id>`);
    }
    if (named !== nodeId) {
      throw new NodeIdMismatchError(address, `address ${address} names another node`);
    }
  }
  const ok = await verifySignature(
    NodeId.toBytes(nodeId),
    transportInfoSigningBytes(info.timestamp, info.addresses),
    info.signature,
  );
  if (!ok) throw new InvalidSignatureError(`transport info signature of ${NodeId.short(nodeId)}`);
}

/**
 * Whether `candidate` is the very statement `held` is: an authenticated info with the same
 * timestamp, signature and addresses (in order). A held authenticated info was verified when it
 * was stored, so one received again needs no second signature check: it cannot replace the held
 * one (an equal timestamp is a replay) and teaches nothing. Any other info with the same
 * timestamp (another signature, other addresses) is not the same and must be verified.
 */
export function isSameTransportInfo(
  candidate: AuthenticatedTransportInfo,
  held: TransportInfo | undefined,
): boolean {
  return (
    held?.kind === "authenticated" &&
    held.timestamp.equals(candidate.timestamp) &&
    bytesEqual(held.signature, candidate.signature) &&
    held.addresses.length === candidate.addresses.length &&
    held.addresses.every((address, i) => address === candidate.addresses[i])
  );
}

/**
 * Last write wins: whether `candidate` should replace `current`. Between two authenticated
 * infos, only a strictly greater timestamp wins (an equal one is a replay). A trusted info is an
 * explicit local choice and always wins; an authenticated info replaces a trusted one (it is the
 * node's own, signed statement, issued after whatever we were told out of band).
 */
export function isNewerTransportInfo(
  candidate: TransportInfo,
  current: TransportInfo | undefined,
): boolean {
  if (current === undefined || candidate.kind === "trusted" || current.kind === "trusted") {
    return true;
  }
  return candidate.timestamp.isAfter(current.timestamp);
}

/** The CBOR-able wire form: `{ timestamp: [physical, logical], signature, addresses }`. */
export function transportInfoToWire(info: AuthenticatedTransportInfo): unknown {
  return {
    timestamp: info.timestamp.toWire(),
    signature: info.signature,
    addresses: [...info.addresses],
  };
}

const WIRE_KEYS = new Set(["timestamp", "signature", "addresses"]);

/**
 * Reads the wire form of an authenticated transport info, checking shape and limits before any
 * other work: exactly the keys `timestamp`, `signature`, `addresses`; a 64-byte signature; at
 * most {@link MAX_TRANSPORT_ADDRESSES} strings of at most {@link MAX_ADDRESS_LENGTH} characters.
 * Does not verify the signature ({@link verifyTransportInfo} does). Throws {@link DecodeError}.
 */
export function transportInfoFromWire(value: unknown): AuthenticatedTransportInfo {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DecodeError("a transport info is a map");
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length !== WIRE_KEYS.size || !keys.every((k) => WIRE_KEYS.has(k))) {
    throw new DecodeError("a transport info has exactly timestamp, signature and addresses");
  }
  const { signature, addresses } = record;
  if (!isBytes(signature) || signature.length !== SIGNATURE_LENGTH) {
    throw new DecodeError(`a transport info signature is ${SIGNATURE_LENGTH} bytes`);
  }
  if (!Array.isArray(addresses)) throw new DecodeError("transport addresses are a list");
  if (addresses.length > MAX_TRANSPORT_ADDRESSES) {
    throw new DecodeError(`more than ${MAX_TRANSPORT_ADDRESSES} transport addresses`);
  }
  for (const address of addresses) {
    if (typeof address !== "string") throw new DecodeError("a transport address is a string");
    if (address.length > MAX_ADDRESS_LENGTH) {
      throw new DecodeError(`transport address longer than ${MAX_ADDRESS_LENGTH} characters`);
    }
  }
  const timestamp = HybridTimestamp.fromWire(record.timestamp);
  return {
    kind: "authenticated",
    timestamp,
    signature: Uint8Array.from(signature), // `slice` is a view on a Node Buffer
    addresses: Object.freeze([...(addresses as string[])]),
  };
}
