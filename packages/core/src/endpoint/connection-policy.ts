import type { ConnectionGater, MultiaddrConnection, PeerId } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { NodeId } from "../ids/node-id.ts";
import { isPrivateAddress } from "./addresses.ts";
import { type SignallingLimitKind, SignallingLimits } from "./signalling-limits.ts";

/**
 * Why the policy refused a connection: the lists, the inbound cap, or a node's rate of relay
 * reservations or relayed (signalling) connections (see {@link SignallingLimits}).
 */
export type RefusalReason = "denied" | "inbound-limit" | "rate-limited";

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
  /** Per-node rates of relay reservations and relayed connections; default limits. */
  readonly signalling?: SignallingLimits;
  /** Time (ms) of the rate limits; default `Date.now`. */
  readonly now?: () => number;
}

/**
 * Who may connect, decided in libp2p's connection gater so a refused node never gets a session:
 * allow/deny lists of node ids (non-Ed25519 peers are never p2panda nodes and are refused), a cap
 * on open inbound connections, no dials to private addresses unless allowed, and per-node rates
 * of relay reservations and relayed connections, as relay, as target and as dialer.
 */
export class ConnectionPolicy {
  readonly allowPrivateAddresses: boolean;
  readonly maxInboundConnections: number;
  /** Open inbound connections; the endpoint keeps it up to date from connection events. */
  inboundConnections = 0;
  /**
   * Every dial and inbound connection is refused while this is set (the page sits in the
   * back/forward cache, see `Endpoint.suspend`); not counted as refusals.
   */
  suspended = false;
  /** Called for every refusal (the endpoint turns these into metrics and events). */
  onRefused: (reason: RefusalReason, remote: NodeId | undefined) => void = () => {};
  readonly #allow: Set<NodeId> | undefined;
  readonly #deny: Set<NodeId>;
  readonly #signalling: SignallingLimits;
  readonly #now: () => number;

  constructor(init: ConnectionPolicyInit) {
    this.#signalling = init.signalling ?? new SignallingLimits();
    this.#now = init.now ?? Date.now;
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

  /**
   * Takes one relayed (signalling) dial towards `nodeId` from its rate: false, and a
   * `rate-limited` refusal, when we dialled it too often, so a node that redials in a loop holds
   * itself back before any relay has to.
   */
  takeOutboundCircuit(nodeId: NodeId): boolean {
    return this.#withinRate("outbound-circuit", nodeId);
  }

  #withinRate(kind: SignallingLimitKind, nodeId: NodeId): boolean {
    if (this.#signalling.take(kind, nodeId, this.#now())) return true;
    this.onRefused("rate-limited", nodeId);
    return false;
  }

  /** Whether a request of `kind` from `peerId` is over its rate (a non-p2panda peer is). */
  #overRate(kind: SignallingLimitKind, peerId: PeerId): boolean {
    let nodeId: NodeId;
    try {
      nodeId = NodeId.fromPeerId(peerId);
    } catch {
      return true;
    }
    return !this.#withinRate(kind, nodeId);
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
      denyDialPeer: (peerId: PeerId) => this.suspended || denyPeer(peerId),
      denyDialMultiaddr: (address: Multiaddr) =>
        this.suspended || (!this.allowPrivateAddresses && isPrivateAddress(address)),
      denyInboundConnection: (_connection: MultiaddrConnection) => {
        if (this.suspended) return true;
        if (this.inboundConnections < this.maxInboundConnections) return false;
        this.onRefused("inbound-limit", undefined);
        return true;
      },
      denyInboundEncryptedConnection: denyPeer,
      denyOutboundEncryptedConnection: denyPeer,
      // A relayed connection to us carries the remote's WebRTC signalling; as the target we hold
      // each remote to its rate whichever relay it comes through.
      denyInboundRelayedConnection: (_relay: PeerId, remote: PeerId) =>
        denyPeer(remote) || this.#overRate("inbound-circuit", remote),
      // As a relay: reservations and circuit opens per requesting node.
      denyInboundRelayReservation: (peerId: PeerId) =>
        denyPeer(peerId) || this.#overRate("reservation", peerId),
      denyOutboundRelayedConnection: (source: PeerId, destination: PeerId) =>
        denyPeer(source) || denyPeer(destination) || this.#overRate("relay-circuit", source),
    };
  }
}
