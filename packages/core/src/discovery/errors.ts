import { DecodeError } from "../codec/cbor.ts";
import { FrameTooLargeError } from "../codec/framing.ts";
import { StreamStalledError } from "../codec/message-channel.ts";
import { P2pandaError } from "../errors.ts";

/**
 * Why a discovery session failed. Most reasons are the remote's doing; the ones that are not are
 * listed in {@link NOT_REMOTE_FAULT} (see {@link isRemoteFault}).
 */
export type DiscoveryFailureReason =
  /** A message of the wrong kind for the current protocol step. */
  | "unexpected-message"
  /** A message that is not one of ours: wrong shape, wrong byte lengths, unknown fields. */
  | "malformed-message"
  /** Bytes that are not a frame of CBOR: bad CBOR, forbidden map keys, a stream ending mid-frame. */
  | "malformed-frame"
  /** A frame announced larger than the frame limit. */
  | "frame-too-large"
  /** More topic hashes in one message than the limit allows. */
  | "too-many-topic-hashes"
  /** More transport infos in one `nodes` message than the limit allows. */
  | "too-many-transport-infos"
  /** The remote closed its side before the handshake finished. */
  | "closed-early"
  /** The remote handed out a transport info that does not verify (forged, mismatched). */
  | "invalid-transport-info"
  /**
   * The remote stalled: the session did not finish within the session timeout, a receive ran
   * past the session's deadline, or a remote that opened a session sent nothing in time.
   */
  | "timeout"
  /** We were full and this accepted session had waited longest on its remote: dropped for a newcomer. */
  | "evicted"
  /** The same remote opened one session more than it may run at once; its oldest made room. */
  | "superseded"
  /** We stopped discovery. */
  | "stopped"
  /** A bug on our side (a plain exception); it ends the session and nothing else. */
  | "internal-error"
  /** The underlying channel failed (reset, dial failure, write after close …). */
  | "channel-error";

/** Reasons that do not blame the remote: our own doing, or a channel breaking. */
export const NOT_REMOTE_FAULT: ReadonlySet<DiscoveryFailureReason> = new Set([
  "superseded",
  "stopped",
  "internal-error",
  "channel-error",
]);

/** A discovery session failed because of what the remote sent, did not send, or the channel. */
export class DiscoveryProtocolError extends P2pandaError {
  static override readonly name: string = "DiscoveryProtocolError";
  /** Machine-readable reason, stable across versions. */
  readonly reason: DiscoveryFailureReason;

  constructor(reason: DiscoveryFailureReason, message: string, options?: { cause?: unknown }) {
    super("DISCOVERY_PROTOCOL", `${reason}: ${message}`, options);
    this.reason = reason;
  }
}

/** An incoming session was refused because the cap on concurrently accepted sessions is reached. */
export class DiscoverySessionLimitError extends P2pandaError {
  static override readonly name: string = "DiscoverySessionLimitError";
  /** The cap that was reached. */
  readonly limit: number;

  constructor(limit: number) {
    super("DISCOVERY_SESSION_LIMIT", `already ${limit} accepted discovery sessions running`);
    this.limit = limit;
  }
}

/** An incoming session was refused because its remote misbehaved recently and is cooling down. */
export class DiscoveryCoolingDownError extends P2pandaError {
  static override readonly name: string = "DiscoveryCoolingDownError";
  /** When (clock ms) the cool-down ends. */
  readonly until: number;

  constructor(until: number) {
    super("DISCOVERY_COOLING_DOWN", `remote misbehaved; refused until ${until}`);
    this.until = until;
  }
}

/**
 * Whether a failure is the remote's fault (misbehaviour), as opposed to our channel breaking or
 * our own doing. Such remotes are counted and put on cool-down.
 */
export function isRemoteFault(error: unknown): boolean {
  return error instanceof DiscoveryProtocolError && !NOT_REMOTE_FAULT.has(error.reason);
}

/**
 * Names any failure of a session with its discovery reason. What the remote's bytes caused
 * (bad CBOR, oversized or truncated frames, a stall) is the remote's fault; other typed errors
 * of the channel or endpoint are `channel-error`; a plain exception is ours (`internal-error`).
 */
export function asDiscoveryError(error: unknown): DiscoveryProtocolError {
  if (error instanceof DiscoveryProtocolError) return error;
  if (error instanceof FrameTooLargeError) {
    return new DiscoveryProtocolError("frame-too-large", error.message, { cause: error });
  }
  if (error instanceof DecodeError) {
    return new DiscoveryProtocolError("malformed-frame", error.message, { cause: error });
  }
  if (error instanceof StreamStalledError || isWriteStall(error)) {
    return new DiscoveryProtocolError("timeout", (error as Error).message, { cause: error });
  }
  if (error instanceof P2pandaError) {
    return new DiscoveryProtocolError("channel-error", `${error.code}: ${error.message}`, {
      cause: error,
    });
  }
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new DiscoveryProtocolError("internal-error", what, { cause: error });
}

/**
 * Whether a session failed before it reached the remote: no address to dial, or the dial
 * failed (the remote is gone, its relay reservation ended). Nothing was exchanged, so the walk
 * pays no backoff for it (see `WalkFromHere`). By code, for the reason given below.
 */
export function isUnreachable(error: unknown): boolean {
  if (!(error instanceof P2pandaError)) return false;
  return UNREACHABLE_CODES.has(error.code) || isUnreachable(error.cause);
}

const UNREACHABLE_CODES: ReadonlySet<string> = new Set(["DIAL_FAILED", "NO_TRANSPORT_INFO"]);

// By code rather than class: the endpoint module (and libp2p) must not be pulled into the
// sans-IO discovery core for one instanceof. The channel reports a failed write as closed, with
// the stall as its cause.
function isWriteStall(error: unknown): boolean {
  if (!(error instanceof P2pandaError)) return false;
  return error.code === "WRITE_STALLED" || isWriteStall(error.cause);
}
