import { P2pandaError } from "../errors.ts";
import { NodeId } from "../ids/node-id.ts";

/** `connect` found no address for the node: the address book has no transport info for it. */
export class NoTransportInfoError extends P2pandaError {
  static override readonly name: string = "NoTransportInfoError";
  readonly nodeId: NodeId;
  constructor(nodeId: NodeId) {
    super("NO_TRANSPORT_INFO", `no transport info for node ${NodeId.short(nodeId)}`);
    this.nodeId = nodeId;
  }
}

/**
 * The remote does not speak the protocol on our network: it runs another network id (protocol
 * ids are bound to it), or does not accept that protocol at all.
 */
export class ProtocolNotSupportedError extends P2pandaError {
  static override readonly name: string = "ProtocolNotSupportedError";
  readonly nodeId: NodeId;
  readonly protocol: string;
  constructor(nodeId: NodeId, protocol: string, options?: { cause?: unknown }) {
    super(
      "PROTOCOL_NOT_SUPPORTED",
      `node ${NodeId.short(nodeId)} does not accept ${protocol} on this network`,
      options,
    );
    this.nodeId = nodeId;
    this.protocol = protocol;
  }
}

/** No connection to the node could be established over any of its addresses. */
export class DialFailedError extends P2pandaError {
  static override readonly name: string = "DialFailedError";
  readonly nodeId: NodeId;
  constructor(nodeId: NodeId, message: string, options?: { cause?: unknown }) {
    super("DIAL_FAILED", `dialling ${NodeId.short(nodeId)} failed: ${message}`, options);
    this.nodeId = nodeId;
  }
}

/** The connection came up but opening a stream on it failed (reset, closed, limited). */
export class StreamOpenError extends P2pandaError {
  static override readonly name: string = "StreamOpenError";
  readonly nodeId: NodeId;
  constructor(nodeId: NodeId, message: string, options?: { cause?: unknown }) {
    super(
      "STREAM_OPEN_FAILED",
      `opening a stream to ${NodeId.short(nodeId)} failed: ${message}`,
      options,
    );
    this.nodeId = nodeId;
  }
}

/** The node is on the deny list, or not on the allow list. */
export class NodeDeniedError extends P2pandaError {
  static override readonly name: string = "NodeDeniedError";
  readonly nodeId: NodeId;
  constructor(nodeId: NodeId) {
    super("NODE_DENIED", `node ${NodeId.short(nodeId)} is not allowed by the endpoint's lists`);
    this.nodeId = nodeId;
  }
}

/**
 * A remote opened more concurrent streams of one protocol than the limit allows. The extra
 * stream is reset with this error; the remote's other sessions go on.
 */
export class TooManyStreamsError extends P2pandaError {
  static override readonly name: string = "TooManyStreamsError";
  readonly nodeId: NodeId;
  readonly protocol: string;
  readonly limit: number;
  constructor(nodeId: NodeId, protocol: string, limit: number) {
    super(
      "TOO_MANY_STREAMS",
      `node ${NodeId.short(nodeId)} opened more than ${limit} concurrent ${protocol} streams`,
    );
    this.nodeId = nodeId;
    this.protocol = protocol;
    this.limit = limit;
  }
}

/** The remote did not take our bytes in time (it stopped reading); the stream is reset. */
export class WriteStalledError extends P2pandaError {
  static override readonly name: string = "WriteStalledError";
  constructor(timeoutMs: number) {
    super("WRITE_STALLED", `the remote accepted no data for ${timeoutMs} ms`);
  }
}

/** The endpoint was stopped. */
export class EndpointStoppedError extends P2pandaError {
  static override readonly name: string = "EndpointStoppedError";
  constructor() {
    super("ENDPOINT_STOPPED", "the endpoint is stopped");
  }
}

/**
 * We set up WebRTC with the node through a relay too often in a short time (see
 * `EndpointOptions.signallingLimits`): no dial was made. A later `connect` may go through.
 */
export class SignallingRateLimitedError extends P2pandaError {
  static override readonly name: string = "SignallingRateLimitedError";
  readonly nodeId: NodeId;
  constructor(nodeId: NodeId) {
    super(
      "SIGNALLING_RATE_LIMITED",
      `dialling ${NodeId.short(nodeId)} through a relay too often; try again later`,
    );
    this.nodeId = nodeId;
  }
}

/**
 * A session over a relayed connection (the relayed data fallback, `EndpointOptions
 * .relayedFallback`) ended because the connection did: the relay cut the circuit at its data
 * limit (`reason: "data-limit"`), or at its duration limit, went away, or the remote closed it
 * (`"ended"`; circuit relay v2 tells the ends no reason). The next session with the node runs
 * over a new circuit (or a direct connection), as for any lost connection.
 */
export class RelayedConnectionEndedError extends P2pandaError {
  static override readonly name: string = "RelayedConnectionEndedError";
  readonly nodeId: NodeId;
  readonly reason: "data-limit" | "ended";
  constructor(nodeId: NodeId, reason: "data-limit" | "ended", options?: { cause?: unknown }) {
    super(
      "RELAYED_CONNECTION_ENDED",
      reason === "data-limit"
        ? `the relayed connection to ${NodeId.short(nodeId)} reached the relay's data limit`
        : `the relayed connection to ${NodeId.short(nodeId)} ended (the relay's time limit, the relay or the node went away)`,
      options,
    );
    this.nodeId = nodeId;
    this.reason = reason;
  }
}
