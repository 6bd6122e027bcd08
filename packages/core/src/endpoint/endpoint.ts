import type { Libp2p } from "@libp2p/interface";
import type { Observable } from "rxjs";
import type { MessageChannel } from "../codec/message-channel.ts";
import type { NetworkId } from "../ids/network-id.ts";
import type { NodeId } from "../ids/node-id.ts";
import type { AuthenticatedTransportInfo } from "../records/transport-info.ts";
import type { ConnectionSummary, EndpointEvent } from "./events.ts";
import type { AcceptOptions, ConnectOptions, ProtocolEndpoint } from "./protocol-endpoint.ts";

/** Counters since the endpoint started. */
export interface EndpointMetrics {
  connectionsOpened: number;
  connectionsClosed: number;
  /** Refused by the allow/deny lists (either direction). */
  connectionsDenied: number;
  /** Refused because {@link EndpointLimits.maxInboundConnections} was reached. */
  inboundConnectionsRefused: number;
  dialsFailed: number;
  streamsOpened: number;
  streamsAccepted: number;
  /** Inbound streams reset for exceeding the per-node stream limit. */
  streamsRefused: number;
  /** `connect` calls that met a node without the protocol (e.g. on another network). */
  protocolNotSupported: number;
  /** Accepted sessions whose handler failed. */
  sessionsFailed: number;
  /** Failed sessions by error code (`FRAME_TOO_LARGE`, `STREAM_STALLED`, `DECODE_ERROR`, …). */
  sessionErrors: Record<string, number>;
  /** Times our own transport info was re-signed and stored. */
  transportInfosPublished: number;
  /** Dials tried a second time after a first one failed (see `connect`). */
  dialsRetried: number;
  /** Streams opened a second time because the connection closed under the first (`connect`). */
  streamOpensRetried: number;
  /** Dials not made because the node was dialling us already (we took its connection). */
  inboundDialsAwaited: number;
  /** Our dials aborted because the node dialled us in the same moment and has the smaller id. */
  crossingDialsGivenWay: number;
  /**
   * Nodes with a smaller id we asked to set the WebRTC connection between us up, instead of
   * dialling them (the smaller id dials: crossing set-ups stalled; see `connect-back.ts`).
   */
  connectBacksAsked: number;
  /** WebRTC connections we set up because the node (a larger id) asked us to. */
  connectBacksServed: number;
  /** Asked nodes that refused or did not answer in time: we dialled them ourselves. */
  connectBacksFallenBack: number;
  /**
   * Nodes we dialled ourselves without asking, because our last asks were refused or not
   * answered (see `ConnectBackPause`: a busy machine).
   */
  connectBacksSkipped: number;
  /**
   * WebRTC set-ups not made because their turn in the queue came after the dial timeout, when
   * the sessions that wanted them had given up (see `WebRtcSetUpQueue`).
   */
  webRtcSetUpsAbandoned: number;
  /**
   * WebRTC set-ups given up because they were not through 500 ms after their answer; the dial
   * was made again (see the libp2p endpoint).
   */
  webRtcSetUpsStalled: number;
  /**
   * WebRTC connections closed as soon as they opened because their peer connection had never
   * connected (the other side had given the set-up up; see `webrtc-phantom.ts`).
   */
  webRtcPhantomsClosed: number;
  /** Connections closed because they carried none of our sessions for a while. */
  idleConnectionsClosed: number;
  /**
   * Liveness pings that missed their deadline but whose confirming ping was answered: the peer
   * (or this process) was slow, not gone, and the connection stayed (see `liveness.ts`).
   */
  pingsMissed: number;
  /** Connections closed because their peer answered neither a liveness ping nor its confirmation. */
  connectionsDroppedUnanswered: number;
  /**
   * Relayed connections closed once their WebRTC signalling was over and a direct connection to
   * the same node was open (each held a circuit on the relay).
   */
  relayedConnectionsClosed: number;
  /** Nodes reachable only through us whose connection to us closed (reported stale). */
  departedNodes: number;
  /** Departed nodes removed from the address book after the grace. */
  departedNodesForgotten: number;
  /**
   * Relay reservations, relayed connections and our own relayed dials refused for being over a
   * node's rate (`EndpointOptions.signallingLimits`).
   */
  signallingRateLimited: number;
  /**
   * Connections over a relay used for our sessions because no direct one could be made
   * (`EndpointOptions.relayedFallback`), opened by us or first used by the remote.
   */
  relayedFallbacks: number;
  /** Sessions ended because the relay cut their relayed connection (`RelayedConnectionEndedError`). */
  relayedSessionsEnded: number;
}

/**
 * A p2panda node's connection to the network: one libp2p node with the node's identity, on which
 * p2panda protocols run, one stream per session (spec §3). Created by `createEndpoint` (browser
 * preset), `createNodeEndpoint` (Node) or `createMemoryEndpoint` (tests).
 */
export interface Endpoint extends ProtocolEndpoint {
  readonly nodeId: NodeId;
  readonly networkId: NetworkId;
  /** The underlying libp2p node, for what the endpoint does not cover (use with care). */
  readonly libp2p: Libp2p;
  /**
   * Serves `protocolName` (bound to our network id): each inbound session is one stream, handed
   * to `handler` as a {@link MessageChannel}. A handler that throws or rejects ends its session
   * (the stream is reset; counted in `metrics.sessionErrors`, emitted as
   * `endpoint:session-failed`); the endpoint keeps serving. A remote that holds more concurrent
   * streams than the limit gets the extra ones reset with `TooManyStreamsError`.
   * @throws InvalidInputError if the protocol is already accepted; EndpointStoppedError.
   */
  accept(
    protocolName: string,
    handler: (channel: MessageChannel) => void | Promise<void>,
    options?: AcceptOptions,
  ): void;
  /**
   * Stops accepting new sessions of `protocolName` (running sessions go on); remotes then get
   * `ProtocolNotSupportedError`. No-op if it was not accepted.
   */
  unaccept(protocolName: string): Promise<void>;
  /**
   * Opens a session of `protocolName` with `nodeId`, reusing an open direct connection or dialling
   * the addresses the address book has for it. Every dial outcome is reported to the address
   * book (a success when a new direct connection opens, in either direction; a failure when no
   * address is known or none answers).
   * @throws NoTransportInfoError (no addresses known), DialFailedError, ProtocolNotSupportedError
   *   (the node is on another network or lacks the protocol), StreamOpenError, NodeDeniedError,
   *   InvalidInputError (own node id), EndpointStoppedError.
   */
  connect(nodeId: NodeId, protocolName: string, options?: ConnectOptions): Promise<MessageChannel>;
  /**
   * Makes sure a connection to `nodeId` is open (dialling as `connect` does) without opening a
   * stream. Throws what `connect` throws for dialling.
   */
  dial(nodeId: NodeId, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * Closes every connection to `nodeId` at once, without the goodbye a graceful close waits
   * for: for connections presumed dead (a page back from a long freeze still counts open what
   * the remote dropped), so that the next `dial` or `connect` makes a new one. Each closed
   * connection is reported as `endpoint:connection-closed`. No-op without a connection.
   */
  closeConnections(nodeId: NodeId): void;
  /**
   * Closes every connection at once, without the goodbye a graceful close waits for, and
   * refuses every dial and inbound connection until {@link resume}; the endpoint keeps running.
   * For a page going into the back/forward cache (`pagehide` with `persisted`): an open
   * RTCPeerConnection keeps a page out of Chromium's cache (reason `rtc`, measured with
   * scripts/bfcache-probe.ts), and Chromium closes a cached page's WebSockets itself, the page
   * learning it only on return. The refusal keeps what would redial at once (libp2p's
   * reconnects of keep-alive peers, gossip) from opening new ones before the page is stored.
   * Returns how many connections it closed, each reported as `endpoint:connection-closed`.
   */
  suspend(): number;
  /** Lets dials and inbound connections through again after {@link suspend}. */
  resume(): void;
  /** Addresses we advertise (each ending in `/p2p/<our peer id>`), as in our transport info. */
  addresses(): string[];
  /** Every address libp2p listens on or announces, private ones included. */
  listenAddresses(): string[];
  /** Our latest signed transport info (also stored in the address book). */
  transportInfo(): AuthenticatedTransportInfo | undefined;
  /** Open connections, right now. */
  connections(): ConnectionSummary[];
  /** Relays we hold a reservation on. */
  relays(): NodeId[];
  readonly metrics: Readonly<EndpointMetrics>;
  /** Hot stream of {@link EndpointEvent}s; completes on `stop`. */
  readonly events$: Observable<EndpointEvent>;
  /** Closes every connection and stops libp2p. Idempotent. The address book stays open. */
  stop(): Promise<void>;
}
