import { identify } from "@libp2p/identify";
import type { Connection, Libp2p, Libp2pEvents, PeerId, Stream } from "@libp2p/interface";
import { KEEP_ALIVE } from "@libp2p/interface";
import { noise } from "@libp2p/noise";
import { ping } from "@libp2p/ping";
import { yamux } from "@libp2p/yamux";
import { multiaddr } from "@multiformats/multiaddr";
import { EventStream } from "@p2panda-web/events";
import { createLibp2p } from "libp2p";
import type { Observable } from "rxjs";
import { systemClock } from "../clock.ts";
import {
  framedChannel,
  type MessageChannel,
  type MessageChannelOptions,
} from "../codec/message-channel.ts";
import { InvalidInputError, P2pandaError } from "../errors.ts";
import { NetworkId, protocolId } from "../ids/network-id.ts";
import { NodeId } from "../ids/node-id.ts";
import { createNodeInfo } from "../records/node-info.ts";
import {
  type AuthenticatedTransportInfo,
  addressNodeId,
  transportKind,
} from "../records/transport-info.ts";
import { systemTimers } from "../runtime/timers.ts";
import {
  advertisableAddresses,
  announceableAddresses,
  connectionTransport,
  isPrivateAddress,
  parseBootstrapAddresses,
  reachableOnlyThrough,
} from "./addresses.ts";
import {
  answerConnectBack,
  asksToBeDialled,
  CONNECT_BACK_PROTOCOL,
  type ConnectBackOutcome,
  ConnectBackPause,
  readConnectBackAnswer,
} from "./connect-back.ts";
import { ConnectionPolicy } from "./connection-policy.ts";
import type { Endpoint, EndpointMetrics } from "./endpoint.ts";
import {
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_ENDPOINT_LIMITS,
  DEFAULT_FORGET_DEPARTED_AFTER_MS,
  DEFAULT_LIVENESS,
  type EndpointAddressBook,
  type EndpointLimits,
  type EndpointOptions,
  type EndpointPreset,
  MAX_STREAM_RECEIVE_WINDOW,
} from "./endpoint-options.ts";
import {
  DialFailedError,
  EndpointStoppedError,
  NodeDeniedError,
  NoTransportInfoError,
  ProtocolNotSupportedError,
  SignallingRateLimitedError,
  StreamOpenError,
  TooManyStreamsError,
} from "./errors.ts";
import type { ConnectionSummary, EndpointEvent } from "./events.ts";
import { type ConnectionActivity, IdleConnections } from "./idle-connections.ts";
import { ConnectionLiveness, pingOverConnection } from "./liveness.ts";
import { observedAddressGuard } from "./observed-address-guard.ts";
import { type OverlayRelays, overlayRelayAddress, overlayRelayOf } from "./overlay-relays.ts";
import type { AcceptOptions, ConnectOptions } from "./protocol-endpoint.ts";
import { circuitRelayOf, RelayReservations } from "./relay-reservations.ts";
import { relayedChannel } from "./relayed-channel.ts";
import {
  RELAYED_DATA_PROTOCOL,
  type RelayedFallbackOptions,
  RelayedNodes,
  relayedDataAddresses,
} from "./relayed-fallback.ts";
import { SignallingLimits } from "./signalling-limits.ts";
import { type StreamDuplexOptions, streamDuplex } from "./stream-duplex.ts";
import { TransportInfoPublisher } from "./transport-info-publisher.ts";
import { warmStartNodes } from "./warm-start.ts";
import { isPhantomWebRtcConnection, UnconfirmedWebRtcConnections } from "./webrtc-phantom.ts";
import { WebRtcSetUpQueue } from "./webrtc-set-up-queue.ts";
import { WEBRTC_SET_UP_STALL_MS, WebRtcStallGuard } from "./webrtc-stall-guard.ts";

/**
 * Most dials of one `connect` before it fails, each after a short random wait: a second one,
 * and a third when the second's WebRTC set-up stalled. Every one but the last is given up when
 * its set-up stalls, the second after three times the first's deadline (see
 * `webrtc-stall-guard.ts`): a peer connection that failed makes no more progress, and libp2p's
 * dial would wait on it until its timeout.
 */
const DIAL_ATTEMPTS = 3;
/** Least wait before the next dial (plus up to 300 ms at random). */
const DIAL_RETRY_MIN_MS = 100;
/** Stream opens of one `connect` when the connection closes under the first. */
const STREAM_OPEN_ATTEMPTS = 2;
/**
 * Errors of a stream open that mean the connection under it is broken: the remote closed it
 * mid-negotiation, or the WebRTC peer connection under it was closed (the browser's
 * `OperationError`; Node's WebRTC says so only in its message).
 */
function isBrokenConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "UnexpectedEOFError" || error.name === "OperationError") return true;
  return /destroyed peer connection|peer connection (is )?closed/i.test(error.message);
}
/**
 * Longest wait for the direct connection of a node that is already dialling us (its relayed
 * signalling connection is open) before we dial it ourselves.
 */
const INBOUND_DIAL_WAIT_MS = 5_000;
/** libp2p's WebRTC signalling protocol: a relayed connection carrying it is a set-up under way. */
const WEBRTC_SIGNALLING_PROTOCOL = "/webrtc-signaling/0.0.1";
/**
 * A relayed connection that opened less than this long ago counts as a WebRTC set-up under way
 * before its signalling stream shows; after it, only one carrying that stream does.
 */
const SIGNALLING_STREAM_GRACE_MS = 1_000;
/**
 * Longest wait for a node we asked to dial us (see `connect-back.ts`) to answer; it answers when
 * its WebRTC set-up is through (under 3 s in the soak at load 10–15), and refuses at once when
 * busy with others. Then we dial it ourselves, within the same session's 10 s.
 */
const CONNECT_BACK_WAIT_MS = 5_000;
/** How long after a node failed to set up the connection we asked for we dial it ourselves. */
const CONNECT_BACK_RETRY_MS = 60_000;
/** Nodes remembered for {@link CONNECT_BACK_RETRY_MS} at most (the oldest is forgotten). */
const CONNECT_BACK_FAILED_MAX = 1_024;
/** After a "connected" answer, the longest wait for our end of that connection to be confirmed. */
const CONNECT_BACK_CONFIRM_MS = 2_000;

/**
 * Creates and starts an endpoint with the transports of `preset` and everything presets share:
 * noise, yamux, identify, ping, the connection policy, transport-info publication, bootstrap.
 * Presets call this; applications call a preset.
 * @throws InvalidInputError on malformed options (e.g. a bootstrap address without `/p2p/`).
 */
export async function startEndpoint(
  options: EndpointOptions,
  preset: EndpointPreset,
): Promise<Endpoint> {
  const limits = { ...DEFAULT_ENDPOINT_LIMITS, ...options.limits };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new InvalidInputError(`limit ${name} must be a positive integer`);
    }
  }
  const bootstrap = parseBootstrapAddresses(options.bootstrap ?? []);
  const policy = new ConnectionPolicy({
    allow:
      options.allow === undefined
        ? undefined
        : [...options.allow, ...bootstrap.map((b) => b.nodeId)],
    deny: options.deny,
    allowPrivateAddresses: options.allowPrivateAddresses ?? false,
    maxInboundConnections: limits.maxInboundConnections,
    signalling: new SignallingLimits(options.signallingLimits),
  });
  const libp2p = await createLibp2p({
    start: false,
    privateKey: preset.privateKey ?? options.identity.toLibp2pPrivateKey(),
    addresses: { listen: [...preset.listen], announceFilter: announceableAddresses },
    transports: preset.transports,
    connectionEncrypters: [noise()],
    // Yamux would grow a stream's receive window to 16 MiB, beyond the 4 MiB that libp2p lets a
    // paused stream buffer: a fast sender to a slow reader would then get the stream reset
    // (`StreamBufferError`) instead of being slowed down.
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: MAX_STREAM_RECEIVE_WINDOW } })],
    connectionGater: policy.gater(),
    connectionManager: {
      maxConnections: limits.maxConnections,
      maxIncomingPendingConnections: limits.maxPendingInboundConnections,
      inboundConnectionThreshold: limits.maxInboundConnectionsPerHostPerSecond,
      dialTimeout: options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
      ...(options.addressDialTimeoutMs !== undefined
        ? { addressDialTimeout: options.addressDialTimeoutMs }
        : {}),
    },
    // Ours (see `liveness.ts`) confirms a missed ping before it closes a connection.
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      ping: ping(),
      observedAddressGuard: observedAddressGuard(),
      ...preset.services,
    },
  });
  const endpoint = new Libp2pEndpoint(
    libp2p,
    options,
    limits,
    policy,
    bootstrap,
    preset.overlayRelays,
  );
  await endpoint.start();
  return endpoint;
}

class Libp2pEndpoint implements Endpoint {
  readonly nodeId: NodeId;
  readonly networkId: NetworkId;
  readonly libp2p: Libp2p;
  readonly metrics: EndpointMetrics = {
    connectionsOpened: 0,
    connectionsClosed: 0,
    connectionsDenied: 0,
    inboundConnectionsRefused: 0,
    dialsFailed: 0,
    streamsOpened: 0,
    streamsAccepted: 0,
    streamsRefused: 0,
    protocolNotSupported: 0,
    sessionsFailed: 0,
    sessionErrors: {},
    transportInfosPublished: 0,
    dialsRetried: 0,
    streamOpensRetried: 0,
    inboundDialsAwaited: 0,
    crossingDialsGivenWay: 0,
    connectBacksAsked: 0,
    connectBacksServed: 0,
    connectBacksFallenBack: 0,
    connectBacksSkipped: 0,
    webRtcSetUpsAbandoned: 0,
    webRtcSetUpsStalled: 0,
    webRtcPhantomsClosed: 0,
    idleConnectionsClosed: 0,
    pingsMissed: 0,
    connectionsDroppedUnanswered: 0,
    relayedConnectionsClosed: 0,
    departedNodes: 0,
    departedNodesForgotten: 0,
    signallingRateLimited: 0,
    relayedFallbacks: 0,
    relayedSessionsEnded: 0,
  };
  readonly #book: EndpointAddressBook;
  readonly #limits: Required<EndpointLimits>;
  readonly #policy: ConnectionPolicy;
  readonly #bootstrap: ReturnType<typeof parseBootstrapAddresses>;
  readonly #events: EventStream<EndpointEvent>;
  readonly #dialTimeoutMs: number;
  readonly #streamOptions: StreamDuplexOptions;
  readonly #accepted = new Set<string>();
  readonly #listeners: Array<() => void> = [];
  readonly #publisher: TransportInfoPublisher;
  readonly #relays = new RelayReservations();
  readonly #overlayRelays: OverlayRelays | undefined;
  readonly #idle: IdleConnections | undefined;
  /** Nodes reachable only through us whose connection closed, with when it closed. */
  readonly #departed = new Map<NodeId, number>();
  /** Ids of phantom WebRTC connections closed on opening (see `#onConnection`). */
  readonly #phantoms = new Set<string>();
  /** WebRTC connections opened on a peer connection still "connecting" (see `#onConnection`). */
  readonly #unconfirmed = new UnconfirmedWebRtcConnections(
    (id) => {
      const connection = this.libp2p.getConnections().find((c) => c.id === id);
      if (connection === undefined) return;
      this.metrics.webRtcPhantomsClosed++;
      connection.abort(new Error("WebRTC peer connection did not connect"));
    },
    () => this.#directConnected.dispatchEvent(new Event("connected")),
  );
  /** Told when a watched WebRTC connection became a direct one (`#inboundDial` waits on it). */
  readonly #directConnected = new EventTarget();
  /** Tab-to-tab WebRTC set-ups, one at a time. */
  readonly #webRtcSetUps = new WebRtcSetUpQueue();
  /** Whether to ask nodes to dial us at all, after how our last asks went. */
  readonly #connectBackPause = new ConnectBackPause();
  /** Nodes whose set-up at our request failed, with when: for a while we dial them ourselves. */
  readonly #connectBackFailed = new Map<NodeId, number>();
  /** WebRTC connections being made, by node: a second dial of the same node joins the first. */
  readonly #webRtcDials = new Map<NodeId, Promise<Connection>>();
  readonly #forgetDepartedAfterMs: number;
  #departedTimer: ReturnType<typeof setInterval> | undefined;
  #idleTimer: ReturnType<typeof setInterval> | undefined;
  readonly #liveness: ConnectionLiveness<Connection>;
  readonly #warn: (message: string) => void;
  /** Reasons already warned about: a developer hears each once, not on every walk step. */
  readonly #warned = new Set<string>();
  readonly #warmStart: boolean;
  /** With the relayed data fallback on: the nodes reached through a relay for now. */
  readonly #relayedNodes: RelayedNodes | undefined;
  /** Relayed connections that carried a session of ours (counted once each). */
  readonly #relayedInUse = new WeakSet<Connection>();
  #started = false;
  #stopped = false;

  constructor(
    libp2p: Libp2p,
    options: EndpointOptions,
    limits: Required<EndpointLimits>,
    policy: ConnectionPolicy,
    bootstrap: ReturnType<typeof parseBootstrapAddresses>,
    overlayRelays: OverlayRelays | undefined,
  ) {
    this.libp2p = libp2p;
    this.#overlayRelays = overlayRelays;
    this.nodeId = options.identity.nodeId;
    this.networkId = options.networkId ?? NetworkId.DEFAULT;
    this.#book = options.addressBook;
    this.#limits = limits;
    this.#policy = policy;
    this.#bootstrap = bootstrap;
    this.#warn = options.warn ?? ((message) => console.warn(message));
    const liveness = { ...DEFAULT_LIVENESS, ...options.liveness };
    this.#liveness = new ConnectionLiveness<Connection>({
      timing: {
        intervalMs: liveness.pingIntervalMs,
        timeoutMs: liveness.pingTimeoutMs,
        confirmMs: liveness.pingConfirmMs,
      },
      timers: systemTimers,
      connections: () => this.libp2p.getConnections(),
      ping: pingOverConnection,
      drop: (connection, error) => {
        this.metrics.connectionsDroppedUnanswered++;
        connection.abort(error);
      },
      missed: () => {
        this.metrics.pingsMissed++;
      },
      // Only a WebRTC connection can be open without ever having worked (its data channels never
      // open). A WebSocket or relayed one that is slow to answer its first ping has a busy peer at
      // its other end: in 16 tabs on two cores (load 17–28), tabs dropped 164 connections at their
      // first missed ping in two minutes, and 7 of the 16 lost their bootstrap connection (13
      // times, most 6–7 s after it opened), and with it the relay reservation others reach them by.
      mayNeverHaveWorked: (connection) => {
        const transport = connectionTransport(connection.remoteAddr);
        return transport === "webrtc" || transport === "webrtc-direct";
      },
    });
    const clock = options.clock ?? systemClock;
    this.#publisher = new TransportInfoPublisher({
      identity: options.identity,
      addressBook: options.addressBook,
      clock,
      addresses: () => this.addresses(),
      onPublished: (info) => {
        this.metrics.transportInfosPublished++;
        this.#events.emit({
          type: "endpoint:addresses-changed",
          addresses: info.addresses,
          timestamp: info.timestamp,
        });
      },
    });
    this.#events = new EventStream<EndpointEvent>(() => clock.now());
    this.#dialTimeoutMs = options.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
    this.#streamOptions = options.stream ?? {};
    const idleMs = options.idleConnectionTimeoutMs ?? 0;
    if (!Number.isFinite(idleMs) || idleMs < 0) {
      throw new InvalidInputError("idleConnectionTimeoutMs must be a non-negative number");
    }
    const maxDirect = options.maxDirectConnections ?? 0;
    if (!Number.isSafeInteger(maxDirect) || maxDirect < 0) {
      throw new InvalidInputError("maxDirectConnections must be a non-negative integer");
    }
    this.#idle = idleMs > 0 ? new IdleConnections(idleMs, maxDirect) : undefined;
    this.#forgetDepartedAfterMs = options.forgetDepartedAfterMs ?? DEFAULT_FORGET_DEPARTED_AFTER_MS;
    this.#warmStart = options.warmStart ?? false;
    this.#relayedNodes = relayedNodesOf(options.relayedFallback);
    policy.onRefused = (reason, remote) => {
      if (reason === "denied") this.metrics.connectionsDenied++;
      else if (reason === "rate-limited") this.metrics.signallingRateLimited++;
      else this.metrics.inboundConnectionsRefused++;
      this.#events.emit({ type: "endpoint:connection-refused", reason, remote });
    };
  }

  get events$(): Observable<EndpointEvent> {
    return this.#events.events$;
  }

  async start(): Promise<void> {
    if (this.#overlayRelays !== undefined) {
      this.#overlayRelays.onChange = () => {
        if (this.#started) this.#addressesMaybeChanged();
      };
    }
    this.#listen("connection:open", (event) => this.#onConnection(event.detail, "opened"));
    this.#listen("connection:close", (event) => this.#onConnection(event.detail, "closed"));
    this.#listen("peer:reconnect-failure", (event) => {
      let remote: NodeId;
      try {
        remote = NodeId.fromPeerId(event.detail);
      } catch {
        return;
      }
      this.metrics.dialsFailed++;
      void this.#report(remote, false);
      this.#events.emit({
        type: "endpoint:dial-failed",
        remote,
        code: "DIAL_FAILED",
        message: "libp2p gave up redialling a kept-alive node",
      });
    });
    this.#listen("self:peer:update", () => {
      if (this.#started) this.#addressesMaybeChanged();
    });
    // libp2p announces our new addresses (`self:peer:update`) a debounced second after a
    // listener changed; a new relay reservation is dialable at once. Reading the addresses when
    // the listener says so publishes our transport info that second sooner, and every node that
    // meets us first dials us that much sooner (measured: reservation → addresses 1.0 s → 0.0 s).
    this.#listen("transport:listening", () => {
      if (this.#started) this.#addressesMaybeChanged();
    });
    this.#listen("transport:close", () => {
      if (this.#started) this.#addressesMaybeChanged();
    });
    await this.libp2p.handle(
      protocolId(CONNECT_BACK_PROTOCOL, this.networkId),
      (stream, connection) => this.#onConnectBack(stream, connection),
      { runOnLimitedConnection: true, maxInboundStreams: 2, maxOutboundStreams: 2 },
    );
    await this.libp2p.start();
    this.#started = true;
    this.#liveness.start();
    if (this.#forgetDepartedAfterMs > 0) {
      this.#departedTimer = setInterval(
        () => this.#forgetDeparted(),
        Math.max(100, Math.min(60_000, this.#forgetDepartedAfterMs / 4)),
      );
    }
    if (this.#idle !== undefined) {
      const idle = this.#idle;
      this.#idleTimer = setInterval(
        () => this.#closeIdleConnections(idle),
        // Often enough that the cap on direct connections bites within seconds.
        Math.max(100, Math.min(idle.idleMs / 3, 2_000)),
      );
    }
    this.#addressesMaybeChanged();
    // The bootstrap dials start before our first transport info is signed and stored: they
    // need nothing of it, and the first connection is what a page load waits for.
    const bootstrapsAdded = this.#addBootstrapNodes();
    // Awaited below; this only keeps a rejection meanwhile from counting as unhandled.
    bootstrapsAdded.catch(() => {});
    await this.#publisher.settled;
    await bootstrapsAdded;
    this.#departedWhileDown();
  }

  /**
   * A relay that starts holds no reservation, so every node it knows only by circuits through
   * itself (tabs from before a restart) is unreachable until it reserves again: each is treated
   * as departed now (reported stale, forgotten after the grace unless it comes back).
   */
  #departedWhileDown(): void {
    for (const info of this.#book.allNodeInfos?.() ?? []) {
      if (info.nodeId === this.nodeId || this.#departed.has(info.nodeId)) continue;
      this.#maybeDeparted(info.nodeId);
    }
  }

  #listen<K extends keyof Libp2pEvents>(type: K, listener: (event: Libp2pEvents[K]) => void): void {
    this.libp2p.addEventListener(type, listener);
    this.#listeners.push(() => this.libp2p.removeEventListener(type, listener));
  }

  accept(
    protocolName: string,
    handler: (channel: MessageChannel) => void | Promise<void>,
    options: AcceptOptions = {},
  ): void {
    this.#assertRunning();
    const protocol = protocolId(protocolName, this.networkId);
    if (this.#accepted.has(protocol)) {
      throw new InvalidInputError(`protocol ${protocolName} is already accepted`);
    }
    const limit = options.maxInboundStreamsPerNode ?? this.#limits.maxInboundStreamsPerNode;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new InvalidInputError("maxInboundStreamsPerNode must be a positive integer");
    }
    this.#accepted.add(protocol);
    const active = new Map<NodeId, number>();
    const channelOptions = channelOptionsOf(options);
    this.libp2p
      .handle(
        protocol,
        (stream, connection) =>
          this.#onInboundStream(protocolName, stream, connection, handler, {
            active,
            limit,
            channelOptions,
          }),
        {
          // libp2p counts per connection; we count per node across connections. Its cap only
          // needs to be above ours so that our handler sees (and counts) the excess streams.
          maxInboundStreams: limit * 2,
          maxOutboundStreams: this.#limits.maxOutboundStreamsPerConnection,
          // With the relayed data fallback, a node that cannot reach us directly runs its
          // sessions over a relayed connection; libp2p refuses streams on those otherwise.
          runOnLimitedConnection: this.#relayedNodes !== undefined,
        },
      )
      .catch(() => this.#accepted.delete(protocol));
  }

  async unaccept(protocolName: string): Promise<void> {
    const protocol = protocolId(protocolName, this.networkId);
    if (!this.#accepted.delete(protocol) || this.#stopped) return;
    await this.libp2p.unhandle(protocol);
  }

  async #onInboundStream(
    protocolName: string,
    stream: Stream,
    connection: Connection,
    handler: (channel: MessageChannel) => void | Promise<void>,
    session: {
      active: Map<NodeId, number>;
      limit: number;
      channelOptions: MessageChannelOptions;
    },
  ): Promise<void> {
    const remote = NodeId.fromPeerId(connection.remotePeer);
    const count = session.active.get(remote) ?? 0;
    if (count >= session.limit) {
      const error = new TooManyStreamsError(remote, protocolName, session.limit);
      this.metrics.streamsRefused++;
      this.#events.emit({
        type: "endpoint:stream-refused",
        remote,
        protocol: protocolName,
        code: error.code,
      });
      stream.abort(error);
      return;
    }
    session.active.set(remote, count + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const left = (session.active.get(remote) ?? 1) - 1;
      if (left > 0) session.active.set(remote, left);
      else session.active.delete(remote);
    };
    stream.addEventListener("close", release, { once: true });
    this.metrics.streamsAccepted++;
    // A node that opens a session over a relayed connection found no direct path to us: ours to
    // it take the same way for a while instead of a WebRTC set-up bound to fail.
    if (connection.limits !== undefined) {
      this.#relayedNodes?.directFailed(remote, Date.now());
      this.#usingRelayed(connection);
    }
    const channel = this.#sessionChannel(remote, stream, connection, session.channelOptions);
    try {
      await handler(channel);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      const code = failure instanceof P2pandaError ? failure.code : "UNKNOWN";
      this.metrics.sessionsFailed++;
      this.metrics.sessionErrors[code] = (this.metrics.sessionErrors[code] ?? 0) + 1;
      this.#events.emit({
        type: "endpoint:session-failed",
        remote,
        protocol: protocolName,
        code,
        message: failure.message,
      });
      channel.abort(failure);
    }
  }

  async connect(
    nodeId: NodeId,
    protocolName: string,
    options: ConnectOptions = {},
  ): Promise<MessageChannel> {
    const protocol = protocolId(protocolName, this.networkId);
    let stream: Stream;
    let connection: Connection;
    for (let attempt = 1; ; attempt++) {
      connection = await this.#connection(nodeId, options.signal);
      try {
        stream = await connection.newStream(protocol, {
          signal: this.#timeoutSignal(options.signal),
          maxOutboundStreams: this.#limits.maxOutboundStreamsPerConnection,
          // Only the relayed data fallback hands out a limited connection (#connection).
          runOnLimitedConnection: connection.limits !== undefined,
        });
        if (connection.limits !== undefined) this.#usingRelayed(connection);
        break;
      } catch (error) {
        if (error instanceof Error && error.name === "UnsupportedProtocolError") {
          this.metrics.protocolNotSupported++;
          throw new ProtocolNotSupportedError(nodeId, protocolName, { cause: error });
        }
        // The connection broke under the stream being opened (a WebRTC peer connection closed
        // while its data channel opened, the remote went away mid-negotiation): the node may
        // well be there, on another connection or a new one. Once; a second failure is the
        // node's answer.
        const broken = connection.status !== "open" || isBrokenConnectionError(error);
        if (
          !broken ||
          attempt >= STREAM_OPEN_ATTEMPTS ||
          options.signal?.aborted === true ||
          this.#stopped
        ) {
          throw new StreamOpenError(nodeId, describe(error), { cause: error });
        }
        // libp2p would hand the same connection out again while it still counts as open.
        if (connection.status === "open") {
          connection.abort(error instanceof Error ? error : new Error(String(error)));
        }
        this.metrics.streamOpensRetried++;
      }
    }
    this.metrics.streamsOpened++;
    return this.#sessionChannel(nodeId, stream, connection, channelOptionsOf(options));
  }

  /** The channel of a session: on a relayed connection, one that says why the relay ended it. */
  #sessionChannel(
    remote: NodeId,
    stream: Stream,
    connection: Connection,
    options: MessageChannelOptions,
  ): MessageChannel {
    const channel = framedChannel(remote, streamDuplex(stream, this.#streamOptions), options);
    if (connection.limits === undefined) return channel;
    return relayedChannel(channel, connection, () => this.metrics.relayedSessionsEnded++);
  }

  #usingRelayed(connection: Connection): void {
    if (this.#relayedInUse.has(connection)) return;
    this.#relayedInUse.add(connection);
    this.metrics.relayedFallbacks++;
  }

  async dial(nodeId: NodeId, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#connection(nodeId, options.signal);
  }

  closeConnections(nodeId: NodeId): void {
    if (!NodeId.is(nodeId)) throw new InvalidInputError("not a node id");
    for (const connection of this.libp2p.getConnections(NodeId.toPeerId(nodeId))) {
      connection.abort(new Error("closed as presumed dead"));
    }
  }

  suspend(): number {
    this.#policy.suspended = true;
    const connections = this.libp2p.getConnections();
    for (const connection of connections) connection.abort(new Error("endpoint suspended"));
    return connections.length;
  }

  resume(): void {
    this.#policy.suspended = false;
  }

  /**
   * An open direct connection to `nodeId`, or a new one; with the relayed data fallback, a
   * relayed connection where no direct one can be made (see `EndpointOptions.relayedFallback`).
   */
  async #connection(nodeId: NodeId, signal: AbortSignal | undefined): Promise<Connection> {
    const relayedNodes = this.#relayedNodes;
    if (relayedNodes === undefined) return this.#directConnectionOrDial(nodeId, signal);
    this.#assertRunning();
    if (NodeId.is(nodeId) && nodeId !== this.nodeId && this.#policy.isAllowed(nodeId)) {
      const direct = this.#directConnection(NodeId.toPeerId(nodeId));
      if (direct !== undefined) return direct;
      // A direct dial failed a moment ago: no new WebRTC set-up (seconds to fail) per session.
      if (relayedNodes.relayed(nodeId, Date.now())) {
        const relayed = await this.#relayedConnection(nodeId, signal);
        if (relayed !== undefined) return relayed;
      }
    }
    try {
      return await this.#directConnectionOrDial(nodeId, signal);
    } catch (error) {
      if (!(error instanceof DialFailedError) || signal?.aborted === true || this.#stopped) {
        throw error;
      }
      const relayed = await this.#relayedConnection(nodeId, signal);
      if (relayed === undefined) throw error;
      relayedNodes.directFailed(nodeId, Date.now());
      return relayed;
    }
  }

  /**
   * A relayed connection to `nodeId` through a relay that allows data (it serves
   * {@link RELAYED_DATA_PROTOCOL}): an open one, or one dialled over the circuits the node
   * advertises; `undefined` when there is none.
   */
  async #relayedConnection(
    nodeId: NodeId,
    signal: AbortSignal | undefined,
  ): Promise<Connection | undefined> {
    const peerId = NodeId.toPeerId(nodeId);
    const allowed = new Map<NodeId, boolean>();
    const allowsData = async (relay: NodeId): Promise<boolean> => {
      let known = allowed.get(relay);
      if (known === undefined) {
        known = await this.#relayAllowsData(relay);
        allowed.set(relay, known);
      }
      return known;
    };
    for (const c of this.libp2p.getConnections(peerId)) {
      if (c.status !== "open" || c.limits === undefined) continue;
      const relay = circuitRelayOf(c.remoteAddr);
      if (relay !== undefined && (await allowsData(relay))) return c;
    }
    const known = this.#book.nodeInfo(nodeId)?.transports?.addresses ?? [];
    for (const { relay, address } of relayedDataAddresses(
      this.#dialableAddresses(nodeId, known),
      // Only through relays we are connected to: a circuit needs one, and we know its protocols.
      (r) => this.libp2p.getConnections(NodeId.toPeerId(r)).length > 0,
    )) {
      if (!(await allowsData(relay))) continue;
      try {
        const connection = await this.libp2p.dial(address, {
          signal: this.#timeoutSignal(signal),
        });
        void this.#report(nodeId, true);
        return connection;
      } catch {
        // Another relay may do.
      }
    }
    return undefined;
  }

  /** Whether `relay` said (through identify) that its circuits may carry data. */
  async #relayAllowsData(relay: NodeId): Promise<boolean> {
    try {
      const peer = await this.libp2p.peerStore.get(NodeId.toPeerId(relay));
      return peer.protocols.includes(protocolId(RELAYED_DATA_PROTOCOL, this.networkId));
    } catch {
      return false;
    }
  }

  async #directConnectionOrDial(
    nodeId: NodeId,
    signal: AbortSignal | undefined,
    via: readonly string[] = [],
  ): Promise<Connection> {
    this.#assertRunning();
    if (!NodeId.is(nodeId)) throw new InvalidInputError("not a node id");
    if (nodeId === this.nodeId) throw new InvalidInputError("an endpoint cannot dial itself");
    if (!this.#policy.isAllowed(nodeId)) throw new NodeDeniedError(nodeId);
    const peerId = NodeId.toPeerId(nodeId);
    const open = this.#directConnection(peerId);
    if (open !== undefined) return open;
    // A WebRTC connection still waiting for its peer connection: its verdict comes within a
    // second, and libp2p would hand it out to a dial meanwhile.
    for (const connection of this.libp2p.getConnections(peerId)) {
      if (!this.#unconfirmed.has(connection.id)) continue;
      const connected = await this.#unconfirmed.settled(connection.id);
      if (connected === true && connection.status === "open") return connection;
    }

    const known = [...via, ...(this.#book.nodeInfo(nodeId)?.transports?.addresses ?? [])];
    // Without an address we can use nothing was attempted: the node is not reported as a
    // failed connection (it would turn stale and be skipped until long after its address came).
    if (known.length === 0) {
      return this.#dialFailed(nodeId, new NoTransportInfoError(nodeId), false);
    }
    const dialable = this.#dialableAddresses(nodeId, known);
    if (dialable.length === 0) {
      const privateAddress = this.#policy.allowPrivateAddresses
        ? undefined
        : known.find((a) => isPrivateAddress(a));
      if (privateAddress === undefined) {
        return this.#dialFailed(nodeId, new DialFailedError(nodeId, "no dialable address"), false);
      }
      // A loopback or LAN bootstrap in development: say which option to set, or the walk would
      // fail on it silently (only a reason code in an event) for as long as the app runs.
      const error = new DialFailedError(
        nodeId,
        `no dialable address (private addresses are not allowed): ${privateAddress} is a ` +
          "loopback or private (LAN) address; for local development or a LAN set " +
          "allowPrivateAddresses: true in the endpoint options (p2panda-web CLI: " +
          "--allow-private-addresses)",
      );
      this.#warnOnce("private-address", `p2panda-web: ${error.message}`);
      return this.#dialFailed(nodeId, error, false);
    }
    // Browsers set up one tab-to-tab WebRTC connection at a time (see WebRtcSetUpQueue).
    if (dialable.every((a) => transportKind(a) === "webrtc")) {
      const pending = this.#webRtcDials.get(nodeId);
      if (pending !== undefined) return untilAborted(pending, signal);
      // Each such dial is signalled through a relay: hold ourselves to the rate relays and
      // targets hold us to, before we cost them anything.
      if (!this.#policy.takeOutboundCircuit(nodeId)) {
        return this.#dialFailed(nodeId, new SignallingRateLimitedError(nodeId), false);
      }
      // Shared by every dial of the node meanwhile, so one caller giving up does not end it for
      // the others (it is bounded by the dial timeout).
      const dialling = this.#webRtcDial(nodeId, peerId, dialable).finally(() =>
        this.#webRtcDials.delete(nodeId),
      );
      this.#webRtcDials.set(nodeId, dialling);
      return untilAborted(dialling, signal);
    }
    return this.#dial(nodeId, peerId, dialable, signal);
  }

  /** A WebRTC connection to a node reachable only that way: set up by the smaller id of the two. */
  async #webRtcDial(nodeId: NodeId, peerId: PeerId, dialable: string[]): Promise<Connection> {
    const failedAt = this.#connectBackFailed.get(nodeId);
    const askedInVain = failedAt !== undefined && Date.now() - failedAt < CONNECT_BACK_RETRY_MS;
    if (!askedInVain) this.#connectBackFailed.delete(nodeId);
    if (asksToBeDialled(this.nodeId, nodeId) && !askedInVain) {
      if (this.#connectBackPause.asks(Date.now())) {
        const theirs = await this.#askToBeDialled(nodeId, peerId, dialable);
        if (theirs !== undefined) return theirs;
      } else {
        this.metrics.connectBacksSkipped++;
      }
    }
    const queuedAt = Date.now();
    return this.#webRtcSetUps.run(
      () => {
        const open = this.#directConnection(peerId);
        return open !== undefined
          ? Promise.resolve(open)
          : this.#dial(nodeId, peerId, dialable, undefined);
      },
      // A turn that came after the dial timeout finds no caller left (sessions wait as long).
      () => {
        if (Date.now() - queuedAt <= this.#dialTimeoutMs) return undefined;
        this.metrics.webRtcSetUpsAbandoned++;
        return new DialFailedError(nodeId, "no turn for its WebRTC set-up within the dial timeout");
      },
    );
  }

  /**
   * Asks `nodeId` (a smaller id) over a relayed connection to set the WebRTC connection up (see
   * `connect-back.ts`): its connection, or `undefined` when we are to dial ourselves.
   */
  async #askToBeDialled(
    nodeId: NodeId,
    peerId: PeerId,
    dialable: readonly string[],
  ): Promise<Connection | undefined> {
    const theirs = await this.#inboundDial(peerId, undefined);
    if (theirs !== undefined) return theirs;
    // Only through a bootstrap's relay: a node asked over a neighbour's circuit (overlay
    // signalling) failed to dial back over it in CI, where our own dial through it went through.
    const circuits = dialable
      .filter((a) => a.includes("/p2p-circuit/webrtc/"))
      .map((a) => multiaddr(a.replace("/p2p-circuit/webrtc/", "/p2p-circuit/")))
      .filter((a) => {
        const relay = circuitRelayOf(a);
        return relay !== undefined && this.#book.nodeInfo(relay)?.bootstrap === true;
      });
    if (circuits.length === 0 || this.#stopped) return undefined;
    this.metrics.connectBacksAsked++;
    const deadline = AbortSignal.timeout(CONNECT_BACK_WAIT_MS);
    let outcome: ConnectBackOutcome = "no-answer";
    try {
      const relayed = await this.libp2p.dial(circuits, { signal: deadline });
      const stream = await relayed.newStream(protocolId(CONNECT_BACK_PROTOCOL, this.networkId), {
        signal: deadline,
        runOnLimitedConnection: true,
      });
      outcome = await readConnectBackAnswer(
        streamDuplex(stream, { highWaterMark: 64, writeTimeoutMs: CONNECT_BACK_WAIT_MS }),
        deadline,
      );
    } catch {
      // No relayed connection or no such protocol there (an older node): we dial ourselves.
    }
    this.#connectBackPause.answered(outcome, Date.now());
    if (outcome === "connected") {
      const direct = await this.#awaitDirect(peerId, CONNECT_BACK_CONFIRM_MS);
      if (direct !== undefined) return direct;
    }
    if (outcome === "failed" && !this.#stopped) {
      // Its failure need not be ours (in CI, a node that knew us only through a neighbour's
      // circuit failed to dial back over it, where our own dial through the same neighbour went
      // through): the next dial of this node is ours. This one fails at once, as our own would
      // likely fail too, and a second set-up now would leave its half-open one behind.
      this.#connectBackFailed.set(nodeId, Date.now());
      if (this.#connectBackFailed.size > CONNECT_BACK_FAILED_MAX) {
        const oldest = this.#connectBackFailed.keys().next().value;
        if (oldest !== undefined) this.#connectBackFailed.delete(oldest);
      }
      return this.#dialFailed(
        nodeId,
        new DialFailedError(nodeId, "its WebRTC set-up to us, made at our request, failed"),
      );
    }
    this.metrics.connectBacksFallenBack++;
    return undefined;
  }

  /** A node with a larger id asks us to set up the WebRTC connection between us. */
  async #onConnectBack(stream: Stream, connection: Connection): Promise<void> {
    const duplex = streamDuplex(stream, { highWaterMark: 64, writeTimeoutMs: 5_000 });
    await answerConnectBack(duplex, async () => {
      let remote: NodeId;
      try {
        remote = NodeId.fromPeerId(connection.remotePeer);
      } catch {
        return "refused";
      }
      if (this.#stopped || !asksToBeDialled(remote, this.nodeId)) return "refused";
      // Busy setting up others (a crowd of tabs): the asker would wait behind them, past its
      // session's deadline (seen with 16 tabs under load). It dials itself instead; we answer.
      if (this.#webRtcSetUps.size > 0 && !this.#webRtcDials.has(remote)) return "refused";
      this.metrics.connectBacksServed++;
      try {
        // Over the relayed connection it asked on, whether or not we know its addresses.
        const via = connection.remoteAddr
          .toString()
          .replace("/p2p-circuit/", "/p2p-circuit/webrtc/");
        await this.#directConnectionOrDial(
          remote,
          undefined,
          via.includes("/p2p-circuit/webrtc/") ? [via] : [],
        );
        return "connected";
      } catch (error) {
        return error instanceof DialFailedError ? "failed" : "refused";
      }
    });
  }

  /** The direct connection to `peerId`, waiting up to `ms` for one to open or be confirmed. */
  #awaitDirect(peerId: PeerId, ms: number): Promise<Connection | undefined> {
    const now = this.#directConnection(peerId);
    if (now !== undefined || this.#stopped) return Promise.resolve(now);
    return new Promise((resolve) => {
      const check = (): void => {
        const direct = this.#directConnection(peerId);
        if (direct !== undefined) done(direct);
      };
      const done = (direct: Connection | undefined): void => {
        clearTimeout(timer);
        this.libp2p.removeEventListener("connection:open", check);
        this.#directConnected.removeEventListener("connected", check);
        resolve(direct);
      };
      const timer = setTimeout(() => done(this.#directConnection(peerId)), ms);
      this.libp2p.addEventListener("connection:open", check);
      this.#directConnected.addEventListener("connected", check);
    });
  }

  async #dial(
    nodeId: NodeId,
    peerId: PeerId,
    dialable: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<Connection> {
    // The node is dialling us already (its WebRTC signalling runs over a relayed connection):
    // a second, crossing dial makes two peer connections set up at once, and in the soak both
    // then took seconds or failed. Take its connection instead.
    const theirs = await this.#inboundDial(peerId, signal);
    if (theirs !== undefined) return theirs;
    for (let attempt = 1; ; attempt++) {
      // Both nodes may start dialling each other in the same moment, before either sees the
      // other's signalling connection. Then the one with the larger id gives way: when the
      // other's relayed (signalling) or direct connection comes in, it aborts its own dial and
      // takes the other's (a crossing WebRTC set-up was seen to stall in "wait for init channel
      // to open" until the address timeout). Only one side may give way: when both did, each
      // closed the connection the other had taken.
      const giveWay = new AbortController();
      const onOpen = (event: CustomEvent<Connection>): void => {
        const c = event.detail;
        if (c.direction === "inbound" && c.remotePeer.equals(peerId) && nodeId < this.nodeId) {
          giveWay.abort(new Error("crossing dial: the node with the smaller id dials"));
        }
      };
      this.libp2p.addEventListener("connection:open", onOpen);
      const stall =
        attempt < DIAL_ATTEMPTS
          ? new WebRtcStallGuard(WEBRTC_SET_UP_STALL_MS * 3 ** (attempt - 1))
          : undefined;
      try {
        // The success is reported when the connection opens (see #onConnection).
        return await this.libp2p.dial(
          dialable.map((a) => multiaddr(a)),
          {
            signal: AbortSignal.any([
              this.#timeoutSignal(signal),
              giveWay.signal,
              ...(stall === undefined ? [] : [stall.signal]),
            ]),
            ...(stall === undefined ? {} : { onProgress: stall.onProgress }),
          },
        );
      } catch (error) {
        const stalled = stall?.signal.aborted === true;
        if (stalled) this.metrics.webRtcSetUpsStalled++;
        if (giveWay.signal.aborted && signal?.aborted !== true && !this.#stopped) {
          this.metrics.crossingDialsGivenWay++;
          const theirs =
            this.#directConnection(peerId) ?? (await this.#inboundDial(peerId, signal));
          if (theirs !== undefined) return theirs;
        }
        const denied = error instanceof Error && error.name === "DialDeniedError";
        if (
          denied ||
          attempt >= DIAL_ATTEMPTS ||
          (attempt > 1 && !stalled) ||
          signal?.aborted === true ||
          this.#stopped
        ) {
          return this.#dialFailed(
            nodeId,
            denied
              ? new NodeDeniedError(nodeId)
              : new DialFailedError(nodeId, describe(error), { cause: error }),
            // The caller gave up (a discovery session's deadline, on a process too busy to
            // finish the handshake in time), not the node: reported as a failed connection it
            // turned stale, and walkers skipped it and others stopped handing it on for 30 s.
            signal?.aborted !== true,
          );
        }
      } finally {
        stall?.cancel();
        this.libp2p.removeEventListener("connection:open", onOpen);
      }
      // Two tabs that learn of each other in the same round dial each other at once, and both
      // WebRTC set-ups can fail. Wait a random moment: the other side's dial may connect us
      // meanwhile, or ours goes through alone.
      this.metrics.dialsRetried++;
      await new Promise((resolve) => setTimeout(resolve, DIAL_RETRY_MIN_MS + Math.random() * 300));
      const open = this.#directConnection(peerId);
      if (open !== undefined) return open;
    }
  }

  /** An open direct (not relayed) connection to `peerId`, if there is one. */
  #directConnection(peerId: PeerId): Connection | undefined {
    return this.libp2p
      .getConnections(peerId)
      .find((c) => c.status === "open" && c.limits === undefined && !this.#unconfirmed.has(c.id));
  }

  /**
   * While `peerId` holds a relayed connection to us (it is setting up WebRTC through it),
   * waits for its direct connection: resolves with it, or `undefined` when the relayed one
   * closed, {@link INBOUND_DIAL_WAIT_MS} passed, or `signal` aborted.
   */
  async #inboundDial(
    peerId: PeerId,
    signal: AbortSignal | undefined,
  ): Promise<Connection | undefined> {
    // A relayed connection left over from an earlier set-up (given up, stalled, or done with a
    // direct connection that has since closed) is not a dial of theirs: waiting on one cost a
    // crossing pair of tabs the whole INBOUND_DIAL_WAIT_MS (5 s sessions in the soak).
    const smallerThanUs = NodeId.fromPeerId(peerId) < this.nodeId;
    const signalling = (): boolean =>
      this.libp2p.getConnections(peerId).some(
        (c) =>
          c.status === "open" &&
          c.limits !== undefined &&
          c.direction === "inbound" &&
          (c.streams.some((s) => s.protocol === WEBRTC_SIGNALLING_PROTOCOL) ||
            // A fresh one from a node with a larger id is its request to be dialled, not a
            // set-up of its own (see `connect-back.ts`).
            (smallerThanUs && Date.now() - c.timeline.open < SIGNALLING_STREAM_GRACE_MS)),
      );
    const direct = (): Connection | undefined => this.#directConnection(peerId);
    if (!signalling()) return undefined;
    this.metrics.inboundDialsAwaited++;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.libp2p.removeEventListener("connection:open", check);
        this.libp2p.removeEventListener("connection:close", check);
        this.#directConnected.removeEventListener("connected", check);
        signal?.removeEventListener("abort", done);
        resolve(direct());
      };
      // A WebRTC connection of theirs that opened but is not confirmed yet is waited for too:
      // the relayed connection may close before its peer connection reports "connected".
      const unconfirmed = (): boolean =>
        this.libp2p.getConnections(peerId).some((c) => this.#unconfirmed.has(c.id));
      const check = (): void => {
        if (direct() !== undefined || (!signalling() && !unconfirmed())) done();
      };
      const timer = setTimeout(done, INBOUND_DIAL_WAIT_MS);
      // A signalling stream ends without a connection event; its grace ends by the clock.
      const poll = setInterval(check, 250);
      this.libp2p.addEventListener("connection:open", check);
      this.libp2p.addEventListener("connection:close", check);
      this.#directConnected.addEventListener("connected", check);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  #warnOnce(reason: string, message: string): void {
    if (this.#warned.has(reason)) return;
    this.#warned.add(reason);
    this.#warn(message);
  }

  async #dialFailed(nodeId: NodeId, error: P2pandaError, attempted = true): Promise<never> {
    this.metrics.dialsFailed++;
    if (attempted) await this.#report(nodeId, false);
    this.#events.emit({
      type: "endpoint:dial-failed",
      remote: nodeId,
      code: error.code,
      message: error.message,
    });
    throw error;
  }

  #dialableAddresses(nodeId: NodeId, addresses: readonly string[]): string[] {
    const suffix = `/p2p/${NodeId.toPeerId(nodeId).toString()}`;
    const out: string[] = [];
    // A circuit through one of the node's neighbours names no transport to that neighbour: it
    // is only of use while we are connected to the neighbour ourselves, and then it goes first.
    const overlay: string[] = [];
    for (const address of addresses) {
      let text: string;
      try {
        text = multiaddr(address).toString();
      } catch {
        continue;
      }
      const named = addressNodeId(text);
      if (named === undefined) text += suffix;
      else if (named !== nodeId) continue;
      if (!this.#policy.allowPrivateAddresses && isPrivateAddress(text)) continue;
      const relay = overlayRelayOf(text);
      if (relay === undefined) out.push(text);
      else if (relay !== this.nodeId && this.isConnected(relay)) overlay.push(text);
    }
    return [...overlay, ...out];
  }

  #timeoutSignal(signal: AbortSignal | undefined): AbortSignal {
    const timeout = AbortSignal.timeout(this.#dialTimeoutMs);
    return signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  }

  async #report(nodeId: NodeId, ok: boolean): Promise<void> {
    try {
      await this.#book.reportConnection(nodeId, ok);
    } catch {
      // A closed or failing address book must not break networking; the book reports its own
      // store errors.
    }
  }

  addresses(): string[] {
    const addresses = advertisableAddresses(
      this.libp2p.getMultiaddrs(),
      this.nodeId,
      this.#policy.allowPrivateAddresses,
    );
    // Circuits through neighbours come first: a node connected to one of them sets up WebRTC
    // with us through it, sparing the bootstrap (and needing none).
    const overlay = (this.#overlayRelays?.list() ?? []).map((relay) =>
      overlayRelayAddress(relay, this.nodeId),
    );
    return [...overlay, ...addresses];
  }

  listenAddresses(): string[] {
    return this.libp2p.getMultiaddrs().map((a) => a.toString());
  }

  transportInfo(): AuthenticatedTransportInfo | undefined {
    return this.#publisher.current;
  }

  isConnected(nodeId: NodeId): boolean {
    return this.#directConnection(NodeId.toPeerId(nodeId)) !== undefined;
  }

  connections(): ConnectionSummary[] {
    const out: ConnectionSummary[] = [];
    for (const connection of this.libp2p.getConnections()) {
      if (connection.status !== "open") continue;
      const summary = summarise(connection);
      if (summary !== undefined) out.push(summary);
    }
    return out;
  }

  relays(): NodeId[] {
    return this.#relays.list();
  }

  #closeIdleConnections(idle: IdleConnections): void {
    if (this.#stopped) return;
    const byId = new Map<string, Connection>();
    const activity: ConnectionActivity[] = [];
    for (const connection of this.libp2p.getConnections()) {
      if (connection.status !== "open") continue;
      let remote: NodeId;
      try {
        remote = NodeId.fromPeerId(connection.remotePeer);
      } catch {
        continue;
      }
      byId.set(connection.id, connection);
      activity.push({
        id: connection.id,
        remote,
        sessions: connection.streams.filter((s) => s.protocol?.startsWith("/p2panda/") === true)
          .length,
        exempt:
          connection.limits !== undefined ||
          this.#relays.has(remote) ||
          this.#book.nodeInfo(remote)?.bootstrap === true,
        superseded:
          connection.limits !== undefined &&
          connection.streams.length === 0 &&
          this.#directConnection(connection.remotePeer) !== undefined,
      });
    }
    for (const id of idle.sweep(activity, Date.now())) {
      const connection = byId.get(id);
      if (connection?.limits !== undefined) this.metrics.relayedConnectionsClosed++;
      else this.metrics.idleConnectionsClosed++;
      connection?.close().catch(() => {});
    }
  }

  #onConnection(connection: Connection, what: "opened" | "closed"): void {
    // A WebRTC connection without a connected peer connection under it is closed at once and
    // never counted, reported or emitted: taken for a direct connection, it would be used
    // instead of a dial until pings closed it. A browser's own gets the grace below first (its
    // page may not have seen the state change yet).
    if (
      what === "opened" &&
      isPhantomWebRtcConnection(connection) &&
      !this.#unconfirmed.watch(connection.id, connection)
    ) {
      this.#phantoms.add(connection.id);
      this.metrics.webRtcPhantomsClosed++;
      connection.abort(new Error("WebRTC peer connection never connected"));
      return;
    }
    if (what === "closed" && this.#phantoms.delete(connection.id)) return;
    // One whose peer connection is still "connecting" is not taken as direct until it connects,
    // and closed if it does not (a set-up the dialler gave up after ICE began: no phantom yet
    // by its state, but it will never carry data).
    if (what === "opened") this.#unconfirmed.watch(connection.id, connection);
    else this.#unconfirmed.forget(connection.id);
    const summary = summarise(connection);
    if (summary === undefined) return;
    if (what === "opened") {
      this.metrics.connectionsOpened++;
      if (summary.direction === "inbound") this.#policy.inboundConnections++;
      // Every new direct connection, in or out (also libp2p's redials of bootstrap nodes), is a
      // successful attempt; relayed (limited) ones only carry WebRTC signalling.
      if (!summary.limited) {
        this.#relayedNodes?.directOpened(summary.remote);
        this.#departed.delete(summary.remote);
        void this.#report(summary.remote, true);
      }
      this.#events.emit({ type: "endpoint:connection-opened", ...summary });
    } else {
      this.metrics.connectionsClosed++;
      if (summary.direction === "inbound") {
        this.#policy.inboundConnections = Math.max(0, this.#policy.inboundConnections - 1);
      }
      this.#events.emit({ type: "endpoint:connection-closed", ...summary });
      if (!summary.limited) this.#maybeDeparted(summary.remote);
    }
  }

  /** A connection closed: was it the only way to reach that node? */
  #maybeDeparted(remote: NodeId): void {
    if (this.#stopped) return;
    if (this.isConnected(remote)) return;
    const addresses = this.#book.nodeInfo(remote)?.transports?.addresses ?? [];
    if (!reachableOnlyThrough(addresses, this.nodeId)) return;
    this.#departed.set(remote, Date.now());
    this.metrics.departedNodes++;
    void this.#report(remote, false);
  }

  /** Removes departed nodes that did not come back within the grace. */
  #forgetDeparted(): void {
    const remove = this.#book.removeNode?.bind(this.#book);
    if (this.#stopped || remove === undefined) return;
    const now = Date.now();
    for (const [remote, at] of this.#departed) {
      if (now - at < this.#forgetDepartedAfterMs) continue;
      this.#departed.delete(remote);
      const addresses = this.#book.nodeInfo(remote)?.transports?.addresses ?? [];
      // It may have published new addresses meanwhile (another relay): then it stays.
      if (!reachableOnlyThrough(addresses, this.nodeId)) continue;
      this.metrics.departedNodesForgotten++;
      remove(remote).catch(() => {});
    }
  }

  #addressesMaybeChanged(): void {
    if (this.#stopped) return;
    const { gained, lost } = this.#relays.update(this.libp2p.getMultiaddrs());
    for (const relay of gained) {
      this.#events.emit({ type: "endpoint:relay-reservation", relay, state: "gained" });
    }
    for (const relay of lost) {
      this.#events.emit({ type: "endpoint:relay-reservation", relay, state: "lost" });
    }
    this.#publisher.addressesMaybeChanged();
  }

  async #addBootstrapNodes(): Promise<void> {
    // Read before the configured ones are stored, and dialled before them (in the background).
    if (this.#warmStart) {
      const known = warmStartNodes(this.#book.allNodeInfos?.() ?? [], {
        self: this.nodeId,
        configured: new Set(this.#bootstrap.map((b) => b.nodeId)),
      });
      for (const nodeId of known) this.#connection(nodeId, undefined).catch(() => {});
    }
    const writes: Promise<unknown>[] = [];
    for (const { nodeId, addresses } of this.#bootstrap) {
      if (nodeId === this.nodeId) continue;
      const current = this.#book.nodeInfo(nodeId) ?? createNodeInfo(nodeId);
      const write = this.#book.insertNodeInfo({
        ...current,
        bootstrap: true,
        transports: { kind: "trusted", addresses },
      });
      writes.push(write);
      // The address book takes a trusted record in memory at once; the dial below reads it
      // there, so it need not wait for the disk (an IndexedDB write on a page load). A book
      // that does not show the record yet is waited for.
      if (this.#book.nodeInfo(nodeId)?.transports === undefined) await write;
      const dialable = this.#dialableAddresses(nodeId, addresses);
      // Tagged keep-alive, libp2p redials a bootstrap (our relay) when the connection drops.
      await this.libp2p.peerStore.merge(NodeId.toPeerId(nodeId), {
        multiaddrs: dialable.map((a) => multiaddr(a)),
        tags: { [KEEP_ALIVE]: { value: 1 } },
      });
      this.#connection(nodeId, undefined).catch(() => {});
    }
    await Promise.all(writes);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#publisher.stop();
    this.#unconfirmed.clear();
    this.#liveness.stop();
    if (this.#idleTimer !== undefined) clearInterval(this.#idleTimer);
    if (this.#departedTimer !== undefined) clearInterval(this.#departedTimer);
    await this.#publisher.settled;
    await this.libp2p.stop();
    for (const remove of this.#listeners.splice(0)) remove();
    this.#events.complete();
  }

  #assertRunning(): void {
    if (this.#stopped) throw new EndpointStoppedError();
  }
}

function summarise(connection: Connection): ConnectionSummary | undefined {
  let remote: NodeId;
  try {
    remote = NodeId.fromPeerId(connection.remotePeer);
  } catch {
    return undefined;
  }
  return {
    remote,
    transport: connectionTransport(connection.remoteAddr),
    direction: connection.direction,
    limited: connection.limits !== undefined,
    remoteAddress: connection.remoteAddr.toString(),
  };
}

/** `promise`, or a rejection with `signal`'s reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map(describe).join("; ");
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The message-channel part of accept/connect options (the rest is the endpoint's). */
function channelOptionsOf(options: MessageChannelOptions): MessageChannelOptions {
  return {
    maxFrameSize: options.maxFrameSize,
    receiveTimeoutMs: options.receiveTimeoutMs,
    frameTimeoutMs: options.frameTimeoutMs,
    keepAliveIntervalMs: options.keepAliveIntervalMs,
  };
}

function relayedNodesOf(
  option: boolean | RelayedFallbackOptions | undefined,
): RelayedNodes | undefined {
  if (option === undefined || option === false) return undefined;
  const settings = option === true ? {} : option;
  const retry = settings.retryDirectAfterMs;
  if (retry !== undefined && (!Number.isFinite(retry) || retry < 0)) {
    throw new InvalidInputError("relayedFallback.retryDirectAfterMs must be a non-negative number");
  }
  const max = settings.maxTrackedNodes;
  if (max !== undefined && (!Number.isSafeInteger(max) || max < 1)) {
    throw new InvalidInputError("relayedFallback.maxTrackedNodes must be a positive integer");
  }
  return new RelayedNodes(settings);
}
