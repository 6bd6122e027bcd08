import { P2pandaError } from "../errors.ts";

/**
 * Why a discovery session failed. Every reason except `channel-error` is the remote's doing
 * (see {@link isRemoteFault}).
 */
export type DiscoveryFailureReason =
  /** A message of the wrong kind for the current protocol step. */
  | "unexpected-message"
  /** A message that is not one of ours: wrong shape, wrong byte lengths, unknown fields. */
  | "malformed-message"
  /** More topic hashes in one message than the limit allows. */
  | "too-many-topic-hashes"
  /** More transport infos in one `nodes` message than the limit allows. */
  | "too-many-transport-infos"
  /** The remote closed its side before the handshake finished. */
  | "closed-early"
  /** The remote handed out a transport info that does not verify (forged, mismatched). */
  | "invalid-transport-info"
  /** The session did not finish within the session timeout (the remote stalled). */
  | "timeout"
  /** The underlying channel failed (reset, decode error, write after close …). */
  | "channel-error";

/** A discovery session failed because of what the remote sent, did not send, or the channel. */
export class DiscoveryProtocolError extends P2pandaError {
  /** Machine-readable reason, stable across versions. */
  readonly reason: DiscoveryFailureReason;

  constructor(reason: DiscoveryFailureReason, message: string, options?: { cause?: unknown }) {
    super("DISCOVERY_PROTOCOL", `${reason}: ${message}`, options);
    this.reason = reason;
  }
}

/** An incoming session was refused because the cap on concurrently accepted sessions is reached. */
export class DiscoverySessionLimitError extends P2pandaError {
  /** The cap that was reached. */
  readonly limit: number;

  constructor(limit: number) {
    super("DISCOVERY_SESSION_LIMIT", `already ${limit} accepted discovery sessions running`);
    this.limit = limit;
  }
}

/**
 * Whether a failure is the remote's fault (misbehaviour), as opposed to our channel breaking.
 * Such remotes are counted and skipped for a cool-down.
 */
export function isRemoteFault(error: unknown): boolean {
  return error instanceof DiscoveryProtocolError && error.reason !== "channel-error";
}
