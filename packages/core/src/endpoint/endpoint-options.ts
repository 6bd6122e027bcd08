import type { PrivateKey } from "@libp2p/interface";
import type { Libp2pInit, ServiceFactoryMap } from "libp2p";
import type { Clock } from "../clock.ts";
import type { Identity } from "../identity/identity.ts";
import type { NetworkId } from "../ids/network-id.ts";
import type { NodeId } from "../ids/node-id.ts";
import type { NodeInfo } from "../records/node-info.ts";
import type { OverlayRelays } from "./overlay-relays.ts";
import type { RelayedFallbackOptions } from "./relayed-fallback.ts";
import type { SignallingLimitsOptions } from "./signalling-limits.ts";
import type { StreamDuplexOptions } from "./stream-duplex.ts";

/**
 * What the endpoint needs from the address book (`@p2panda-web/address-book`'s `AddressBook`
 * fits): addresses to dial, a place for its own signed transport info and bootstrap entries,
 * and connection reports.
 */
export interface EndpointAddressBook {
  /** The record of `id`, if known: where its addresses are looked up. */
  nodeInfo(id: NodeId): NodeInfo | undefined;
  /** Stores a record (our own transport info, bootstrap nodes); resolves whether it was new. */
  insertNodeInfo(info: NodeInfo): Promise<boolean>;
  /** Records a connection attempt with `id` and whether it succeeded (staleness). */
  reportConnection(id: NodeId, ok: boolean): Promise<void>;
  /** Forgets a node (see {@link EndpointOptions.forgetDepartedAfterMs}); without it none is. */
  removeNode?(id: NodeId): Promise<boolean>;
  /** Every known node: read once at start to find nodes that left while we were down. */
  allNodeInfos?(): NodeInfo[];
}

/** Limits on what remote nodes can make the endpoint hold. */
export interface EndpointLimits {
  /** Most connections open at once (in and out). Default 256. */
  readonly maxConnections?: number;
  /** Most inbound connections open at once; more are refused by the gater. Default 192. */
  readonly maxInboundConnections?: number;
  /** Most inbound connections still in their handshake at once. Default 16. */
  readonly maxPendingInboundConnections?: number;
  /**
   * Most inbound connections one IP address may open per second; more are closed before their
   * handshake. Default 64. libp2p's own default is 5, which a bootstrap meets whenever more
   * than five nodes behind one address start together (a NAT, a proxy, the tabs or test nodes
   * of one machine): of 20 nodes on loopback that started at once, 15 failed their first dial
   * of the bootstrap, and each dial between them was refused the same way. Connections in their
   * handshake stay bounded by `maxPendingInboundConnections`.
   */
  readonly maxInboundConnectionsPerHostPerSecond?: number;
  /**
   * Most concurrent inbound streams one remote node may hold per protocol; the next one is reset
   * with `TooManyStreamsError`. Default 8; `accept` can override it per protocol.
   */
  readonly maxInboundStreamsPerNode?: number;
  /** Most concurrent outbound streams per protocol on one connection. Default 64. */
  readonly maxOutboundStreamsPerConnection?: number;
}

/** Defaults of {@link EndpointLimits}. */
export const DEFAULT_ENDPOINT_LIMITS: Required<EndpointLimits> = Object.freeze({
  maxConnections: 256,
  maxInboundConnections: 192,
  maxPendingInboundConnections: 16,
  maxInboundConnectionsPerHostPerSecond: 64,
  maxInboundStreamsPerNode: 8,
  maxOutboundStreamsPerConnection: 64,
});

/** Default of {@link EndpointOptions.dialTimeoutMs}. */
export const DEFAULT_DIAL_TIMEOUT_MS = 10_000;

/**
 * {@link EndpointOptions.addressDialTimeoutMs} of the browser endpoint: libp2p's own default. A
 * tab-to-tab WebRTC set-up through a relay takes 0.2–1 s on a lightly loaded machine (the soak);
 * one that stalls after its answer is given up by the stall guard within about 0.5 s and dialled
 * again, whatever this is. This bounds the rest: a relayed dial (its Noise handshake runs on two
 * busy tabs) and a set-up still in ICE. At 3 s, in 12 tabs on two cores (load 15), most relayed
 * dials to another tab ended at this timeout and were made again from the start; with 6 s a tab
 * knew a median of 9.5 and 10 of its 11 co-topic peers after 90 s (two runs), against 6.5 with 3 s.
 */
export const DEFAULT_BROWSER_ADDRESS_DIAL_TIMEOUT_MS = 6_000;

/**
 * The most a remote may send on one stream before we grant it more (yamux's receive window):
 * 2 MiB, half of what libp2p buffers for a paused stream before resetting it.
 */
export const MAX_STREAM_RECEIVE_WINDOW = 2 * 1024 * 1024;

/**
 * How quickly a silent connection is detected and closed: the endpoint pings every connection
 * every `pingIntervalMs`; when a ping takes longer than `pingTimeoutMs` on a connection whose peer
 * answered before, it sends a second one, and closes the connection when that takes longer than
 * `pingConfirmMs` too. A WebRTC connection that never answered is closed at once (its data
 * channels may never have opened); a WebSocket or relayed one gets the second ping (see
 * `liveness.ts`). A browser tab that disappears is noticed this way (Chromium leaves its WebRTC
 * connection "disconnected", never "failed"), so a vanished peer is dropped within interval +
 * timeout + confirm; a peer that was only slow once (a loaded machine) keeps its connection.
 */
export interface LivenessOptions {
  /** Default {@link DEFAULT_LIVENESS}.pingIntervalMs (5 s). */
  readonly pingIntervalMs?: number;
  /** Default {@link DEFAULT_LIVENESS}.pingTimeoutMs (3 s). */
  readonly pingTimeoutMs?: number;
  /**
   * How long the second ping, sent when one missed `pingTimeoutMs`, may take before the
   * connection is closed. Default {@link DEFAULT_LIVENESS}.pingConfirmMs (3 s).
   */
  readonly pingConfirmMs?: number;
}

/** Defaults of {@link LivenessOptions}. */
export const DEFAULT_LIVENESS: Required<LivenessOptions> = Object.freeze({
  pingIntervalMs: 5_000,
  pingTimeoutMs: 3_000,
  pingConfirmMs: 3_000,
});

/** Options shared by every endpoint preset. */
export interface EndpointOptions {
  /** The node's key: its node id is the libp2p PeerId. */
  readonly identity: Identity;
  /** Where addresses are looked up, connections reported and our own transport info kept. */
  readonly addressBook: EndpointAddressBook;
  /** Network to join; protocols are bound to it. Default {@link NetworkId.DEFAULT}. */
  readonly networkId?: NetworkId;
  /**
   * Multiaddrs of bootstrap nodes, each ending in `/p2p/<peer id>`: stored in the address book as
   * trusted bootstrap entries, kept alive (libp2p redials them), and dialled at start (in the
   * background; outcomes are reported and failures emitted as `endpoint:dial-failed`).
   */
  readonly bootstrap?: readonly string[];
  /**
   * Warm start: at start, before the `bootstrap` list, dial the always-on nodes the address
   * book knows answered last time (bootstraps of earlier runs, nodes with WebSockets
   * addresses; see `warmStartNodes`). Default `false`; on in the browser endpoint, where a
   * reloaded tab should reach the network by the quickest way it knows.
   */
  readonly warmStart?: boolean;
  /**
   * Dial and advertise loopback and private (LAN) addresses. Default `false`, as a public
   * deployment should neither probe its users' LANs nor hand out unreachable addresses; turn it
   * on for development, tests and LAN setups.
   */
  readonly allowPrivateAddresses?: boolean;
  /**
   * Where the endpoint tells the developer what to change, once per reason: e.g. that a
   * loopback or LAN bootstrap is not dialled without {@link allowPrivateAddresses}. Default
   * `console.warn`; `() => {}` silences it. The same text is in the failure's error and event.
   */
  readonly warn?: (message: string) => void;
  /** Only these nodes (and the bootstrap nodes) may connect or be connected to. */
  readonly allow?: readonly NodeId[];
  /** These nodes may never connect or be connected to. */
  readonly deny?: readonly NodeId[];
  readonly limits?: EndpointLimits;
  /**
   * Per-node rates of WebRTC signalling through relays, each enforced where it is seen: relay
   * reservations and circuit opens a node asks of us as its relay, relayed connections a node
   * opens to us, and our own relayed dials to one node. Over the rate is refused
   * (`endpoint:connection-refused` with reason `rate-limited`; our own dial fails with
   * `SignallingRateLimitedError`). Default `DEFAULT_SIGNALLING_LIMITS`.
   */
  readonly signallingLimits?: SignallingLimitsOptions;
  /**
   * Relayed data fallback: when no direct connection to a node can be made (its WebRTC set-up
   * failed or timed out: a symmetric NAT, UDP blocked, no TURN server), run discovery, gossip and
   * sync sessions with it over a relayed connection through a relay that allows data instead
   * (a bootstrap started with `p2panda-web bootstrap --relay-data-limit … --relay-duration-limit
   * …`; it says so by serving the `relayed-data` protocol). The relay cuts each such circuit at
   * its operator's data and time limits: the sessions on it then fail with
   * `RelayedConnectionEndedError` and the next session with the node dials a new circuit. A
   * direct connection is tried again after `retryDirectAfterMs`. The relay sees only
   * Noise-encrypted bytes (the ends authenticate each other as over any transport), but it sees
   * who talks to whom and how much. `true` for the default settings. Default `false`: relayed
   * connections carry only WebRTC signalling, and a node without a direct path gets no session.
   */
  readonly relayedFallback?: boolean | RelayedFallbackOptions;
  /** Per-dial timeout of `connect`. Default {@link DEFAULT_DIAL_TIMEOUT_MS}. */
  readonly dialTimeoutMs?: number;
  /**
   * Longest attempt on one address within a dial (libp2p's `addressDialTimeout`); a failed
   * attempt is tried once more by `connect`. Default 6,000 ms; the browser endpoint uses
   * {@link DEFAULT_BROWSER_ADDRESS_DIAL_TIMEOUT_MS}.
   */
  readonly addressDialTimeoutMs?: number;
  /** Stream backpressure and write-stall settings for every session. */
  readonly stream?: StreamDuplexOptions;
  /** Ping interval and timeout that detect vanished peers. */
  readonly liveness?: LivenessOptions;
  /** Wall clock of the hybrid clock that stamps our transport info; default system clock. */
  readonly clock?: Clock;
  /**
   * Close a direct connection that has carried none of our sessions for this long (a discovery
   * session leaves one behind; a gossip link or a live sync keeps it). Connections to bootstrap
   * nodes and relays are kept. `0` keeps every connection. Default
   * {@link DEFAULT_IDLE_CONNECTION_TIMEOUT_MS} (30 s) in the browser endpoint (`createEndpoint`),
   * where connections are scarce; `0` in the Node and memory endpoints (a relay serves
   * reservations on connections that carry no stream).
   */
  readonly idleConnectionTimeoutMs?: number;
  /**
   * Beyond this many direct connections (bootstrap nodes and relays not counted), idle ones are
   * closed at once, longest idle first, instead of after `idleConnectionTimeoutMs`; connections
   * carrying a session (a gossip link, a sync, a discovery session) are never closed for it, so
   * this is a bound on what lingers, not on what is in use. `0` = no cap; needs
   * `idleConnectionTimeoutMs`. Default {@link DEFAULT_MAX_DIRECT_CONNECTIONS} (10) in the browser
   * endpoint, `0` in the Node and memory endpoints.
   */
  readonly maxDirectConnections?: number;
  /**
   * A node whose only addresses are relay circuits through this node (a browser tab holding a
   * reservation on us) is unreachable once its connection to us closes: it is reported as a
   * failed connection at once (stale, so discovery stops handing it out) and removed from the
   * address book when it has not come back within this time. The same holds, from start, for
   * such nodes the address book kept from before a restart (a restarted relay holds no
   * reservation). `0` never removes. Default
   * {@link DEFAULT_FORGET_DEPARTED_AFTER_MS} (10 min).
   */
  readonly forgetDepartedAfterMs?: number;
}

/** Default of {@link EndpointOptions.forgetDepartedAfterMs}. */
export const DEFAULT_FORGET_DEPARTED_AFTER_MS = 10 * 60_000;

/** Default of {@link EndpointOptions.idleConnectionTimeoutMs} in the browser endpoint. */
export const DEFAULT_IDLE_CONNECTION_TIMEOUT_MS = 30_000;

/** Default of {@link EndpointOptions.maxDirectConnections} in the browser endpoint. */
export const DEFAULT_MAX_DIRECT_CONNECTIONS = 10;
/** What a preset contributes: transports, listen addresses, extra libp2p services. */
export interface EndpointPreset {
  /** The libp2p transports the preset dials and listens with. */
  readonly transports: NonNullable<Libp2pInit["transports"]>;
  /** Multiaddrs to listen on. */
  readonly listen: readonly string[];
  /** Extra libp2p services (a relay server, say). */
  readonly services?: ServiceFactoryMap;
  /**
   * The neighbours we hold a relay reservation on (the browser preset's overlay relay, whose
   * service is among `services`): their circuits are advertised as our addresses.
   */
  readonly overlayRelays?: OverlayRelays;
  /**
   * The identity's libp2p key, when the runtime signs faster than
   * `Identity.toLibp2pPrivateKey()` does (the Node preset's uses Node's own Ed25519). Default
   * that one.
   */
  readonly privateKey?: PrivateKey;
}
