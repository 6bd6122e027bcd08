import type { P2pEvent } from "@p2panda-web/events";
import type { HybridTimestamp } from "../hybrid-timestamp.ts";
import type { NodeId } from "../ids/node-id.ts";
import type { ConnectionTransport } from "./addresses.ts";
import type { RefusalReason } from "./connection-policy.ts";

/** One open connection, as listed by `Endpoint.connections()` and carried by events. */
export interface ConnectionSummary {
  /** The node at the other end (authenticated by the connection's encryption). */
  readonly remote: NodeId;
  readonly transport: ConnectionTransport;
  readonly direction: "inbound" | "outbound";
  /** A relayed connection limited in time and data; p2panda protocols do not run on these. */
  readonly limited: boolean;
  /** The remote's multiaddr as seen on this connection. */
  readonly remoteAddress: string;
}

/** A connection (in or out) came up. */
export interface ConnectionOpenedEvent
  extends P2pEvent<"endpoint:connection-opened">,
    ConnectionSummary {}

/** A connection closed (either side, or reset). */
export interface ConnectionClosedEvent
  extends P2pEvent<"endpoint:connection-closed">,
    ConnectionSummary {}

/** The endpoint's own advertised addresses changed and it signed a new transport info. */
export interface AddressesChangedEvent extends P2pEvent<"endpoint:addresses-changed"> {
  readonly addresses: readonly string[];
  readonly timestamp: HybridTimestamp;
}

/** A circuit-relay reservation was gained or lost: browsers are reachable through it. */
export interface RelayReservationEvent extends P2pEvent<"endpoint:relay-reservation"> {
  readonly relay: NodeId;
  readonly state: "gained" | "lost";
}

/** A dial to a node failed (by `connect`, or to a bootstrap node at start). */
export interface DialFailedEvent extends P2pEvent<"endpoint:dial-failed"> {
  readonly remote: NodeId;
  /** Error code, e.g. `NO_TRANSPORT_INFO`, `DIAL_FAILED`. */
  readonly code: string;
  readonly message: string;
}

/** The gater refused a connection: the node is not allowed, or too many inbound connections. */
export interface ConnectionRefusedEvent extends P2pEvent<"endpoint:connection-refused"> {
  readonly reason: RefusalReason;
  /** Undefined when refused before the remote authenticated (inbound limit). */
  readonly remote: NodeId | undefined;
}

/** An inbound stream was reset before reaching the handler (over the per-node stream limit). */
export interface StreamRefusedEvent extends P2pEvent<"endpoint:stream-refused"> {
  readonly remote: NodeId;
  /** The protocol name given to `accept`. */
  readonly protocol: string;
  readonly code: string;
}

/** An accepted session ended with an error thrown from its handler (bad input, stall, …). */
export interface SessionFailedEvent extends P2pEvent<"endpoint:session-failed"> {
  readonly remote: NodeId;
  readonly protocol: string;
  /** `code` of a `P2pandaError`, otherwise `"UNKNOWN"`. */
  readonly code: string;
  readonly message: string;
}

/** Everything an endpoint reports on `events$`. */
export type EndpointEvent =
  | ConnectionOpenedEvent
  | ConnectionClosedEvent
  | AddressesChangedEvent
  | RelayReservationEvent
  | DialFailedEvent
  | ConnectionRefusedEvent
  | StreamRefusedEvent
  | SessionFailedEvent;
