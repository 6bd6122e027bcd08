/**
 * `@p2panda-web/core/endpoint`: the libp2p endpoint p2panda protocols run on (spec §3). One
 * libp2p node per p2panda node, with the node's identity; each protocol session is one stream,
 * seen by protocols as a `MessageChannel`.
 * @module @p2panda-web/core/endpoint
 */
export {
  advertisableAddresses,
  type BootstrapAddress,
  type ConnectionTransport,
  connectionTransport,
  isPrivateAddress,
  parseBootstrapAddresses,
  reachableOnlyThrough,
} from "./addresses.ts";
export { type BrowserEndpointOptions, createEndpoint } from "./browser-preset.ts";
export {
  answerConnectBack,
  asksToBeDialled,
  CONNECT_BACK_PAUSE_AFTER,
  CONNECT_BACK_PAUSE_MS,
  CONNECT_BACK_PROTOCOL,
  CONNECT_BACK_REQUEST_TIMEOUT_MS,
  type ConnectBackOutcome,
  ConnectBackPause,
  readConnectBackAnswer,
} from "./connect-back.ts";
export {
  ConnectionPolicy,
  type ConnectionPolicyInit,
  type RefusalReason,
} from "./connection-policy.ts";
export { type TransportFactory, withDialDeadline } from "./dial-deadline.ts";
export type { Endpoint, EndpointMetrics } from "./endpoint.ts";
export {
  DEFAULT_BROWSER_ADDRESS_DIAL_TIMEOUT_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_ENDPOINT_LIMITS,
  DEFAULT_FORGET_DEPARTED_AFTER_MS,
  DEFAULT_IDLE_CONNECTION_TIMEOUT_MS,
  DEFAULT_LIVENESS,
  DEFAULT_MAX_DIRECT_CONNECTIONS,
  type EndpointAddressBook,
  type EndpointLimits,
  type EndpointOptions,
  type EndpointPreset,
  type LivenessOptions,
  MAX_STREAM_RECEIVE_WINDOW,
} from "./endpoint-options.ts";
export * from "./errors.ts";
export type * from "./events.ts";
export {
  type ConnectionActivity,
  IdleConnections,
  SUPERSEDED_GRACE_MS,
} from "./idle-connections.ts";
export { startEndpoint } from "./libp2p-endpoint.ts";
export { MemoryEndpoint, MemoryNetwork } from "./memory-network.ts";
export {
  DEFAULT_OVERLAY_RELAY_OPTIONS,
  type OverlayRelayOptions,
  OverlayRelays,
  type OverlaySignalling,
  overlayRelayAddress,
  overlaySignalling,
} from "./overlay-relays.ts";
export type {
  AcceptOptions,
  ConnectOptions,
  ProtocolEndpoint,
  ProtocolHandler,
} from "./protocol-endpoint.ts";
export { relayedChannel } from "./relayed-channel.ts";
export {
  DEFAULT_RETRY_DIRECT_AFTER_MS,
  RELAYED_DATA_PROTOCOL,
  type RelayedEndReason,
  type RelayedFallbackOptions,
  RelayedNodes,
  relayedDataAddresses,
  relayedEndReason,
} from "./relayed-fallback.ts";
export {
  DEFAULT_SIGNALLING_LIMITS,
  type SignallingLimitKind,
  SignallingLimits,
  type SignallingLimitsOptions,
  type SignallingRate,
} from "./signalling-limits.ts";
export {
  DEFAULT_READ_HIGH_WATER_MARK,
  DEFAULT_WRITE_TIMEOUT_MS,
  type StreamDuplexOptions,
  streamDuplex,
} from "./stream-duplex.ts";
export { WARM_START_MAX_NODES, warmStartNodes } from "./warm-start.ts";
