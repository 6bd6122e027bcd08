import type { MessageChannel, MessageChannelOptions } from "../codec/message-channel.ts";
import type { NodeId } from "../ids/node-id.ts";

/** Options of {@link ProtocolEndpoint.accept}. */
export interface AcceptOptions extends MessageChannelOptions {
  /** Overrides the endpoint's `limits.maxInboundStreamsPerNode` for this protocol. */
  readonly maxInboundStreamsPerNode?: number;
}

/** Options of {@link ProtocolEndpoint.connect}. */
export interface ConnectOptions extends MessageChannelOptions {
  /** Cancels the dial and stream negotiation. */
  readonly signal?: AbortSignal;
}
/** Handles one incoming session of a protocol. Errors it throws abort that session only. */
export type ProtocolHandler = (channel: MessageChannel) => void | Promise<void>;

/**
 * What the protocol services (discovery, gossip, sync) need from a network: open a session of
 * a named p2panda protocol with a node, and accept sessions from others. The libp2p endpoint
 * implements it; so does {@link MemoryNetwork} for fast tests and simulations. Services only
 * ever see this seam, never libp2p.
 */
export interface ProtocolEndpoint {
  /** This node's id. */
  readonly nodeId: NodeId;
  /** Registers the handler of incoming sessions of `protocolName` (replacing an earlier one). */
  accept(protocolName: string, handler: ProtocolHandler, options?: AcceptOptions): void;
  /** Stops accepting `protocolName`. */
  unaccept?(protocolName: string): void | Promise<void>;
  /**
   * Opens a session of `protocolName` with `nodeId`. Throws the endpoint's typed errors
   * (`NoTransportInfoError`, `DialFailedError`, `ProtocolNotSupportedError`, …).
   */
  connect(nodeId: NodeId, protocolName: string, options?: ConnectOptions): Promise<MessageChannel>;
  /**
   * Whether a direct (not relayed) connection to `nodeId` is open now. A relay uses it to tell
   * the nodes reachable only through itself that are there (they hold a reservation) from those
   * that left.
   */
  isConnected?(nodeId: NodeId): boolean;
}
