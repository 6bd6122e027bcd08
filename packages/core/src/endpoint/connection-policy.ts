import type { ConnectionGater, MultiaddrConnection, PeerId } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { NodeId } from "../ids/node-id.ts";
import { isPrivateAddress } from "./addresses.ts";

/** Why the policy refused a connection. */
export type RefusalReason = "denied" | "inbound-limit";

/** Settings of a {@link ConnectionPolicy}. */
export interface ConnectionPolicyInit {
  /** When given, only these nodes may connect or be connected to. */
  readonly allow?: Iterable<NodeId>;
  /** These nodes may never connect or be connected to (wins over `allow`). */
  readonly deny?: Iterable<NodeId>;
  /** Dial and advertise loopback/private addresses. */
  readonly allowPrivateAddresses: boolean;
  /** Most inbound connections open at once. */
  readonly maxInboundConnections: number;
}

/**
 * Who may connect, decided in libp2p's connection gater so a refused node never gets a session:
 * allow/deny lists of node ids (non-Ed25519 peers are never p2panda nodes and are refused), a cap
 * on open inbound connections, and no dials to private addresses unless allowed.
 */
export class ConnectionPolicy {
  readonly allowPrivateAddresses: boolean;
  readonly maxInboundConnections: number;
  /** Open inbound connections; the endpoint keeps it up to date from connection events. */
  inboundConnections = 0;
  /** Called for every refusal (the endpoint turns these into metrics and events). */
  onRefused: (reason: RefusalReason, remote: NodeId | undefined) => void = () => {};
  readonly #allow: Set<NodeId> | undefined;
  readonly #deny: Set<NodeId>;

  constructor(init: ConnectionPolicyInit) {
    this.#allow = init.allow === undefined ? undefined : new Set(init.allow);
    this.#deny = new Set(init.deny ?? []);
    this.allowPrivateAddresses = init.allowPrivateAddresses;
    this.maxInboundConnections = init.maxInboundConnections;
  }

  /** Whether the lists let `nodeId` connect. */
  isAllowed(nodeId: NodeId): boolean {
    if (this.#deny.has(nodeId)) return false;
    return this.#allow === undefined || this.#allow.has(nodeId);
  }

  /** Adds `nodeId` to the deny list (existing connections are the caller's to close). */
  deny(nodeId: NodeId): void {
    this.#deny.add(nodeId);
  }

  /** Removes `nodeId` from the deny list. */
  undeny(nodeId: NodeId): void {
    this.#deny.delete(nodeId);
  }

  #peerAllowed(peerId: PeerId): boolean {
    let nodeId: NodeId;
    try {
      nodeId = NodeId.fromPeerId(peerId);
    } catch {
      this.onRefused("denied", undefined);
      return false;
    }
    if (this.isAllowed(nodeId)) return true;
    this.onRefused("denied", nodeId);
    return false;
  }

  /** The libp2p connection gater enforcing this policy. */
  gater(): ConnectionGater {
    const denyPeer = (peerId: PeerId): boolean => !this.#peerAllowed(peerId);
    return {
      denyDialPeer: denyPeer,
      denyDialMultiaddr: (address: Multiaddr) =>
        !this.allowPrivateAddresses && isPrivateAddress(address),
      denyInboundConnection: (_connection: MultiaddrConnection) => {
        if (this.inboundConnections < this.maxInboundConnections) return false;
        this.onRefused("inbound-limit", undefined);
        return true;
      },
      denyInboundEncryptedConnection: denyPeer,
      denyOutboundEncryptedConnection: denyPeer,
      denyInboundRelayedConnection: (_relay: PeerId, remote: PeerId) => denyPeer(remote),
      denyInboundRelayReservation: denyPeer,
      denyOutboundRelayedConnection: (source: PeerId, destination: PeerId) =>
        denyPeer(source) || denyPeer(destination),
    };
  }
}
