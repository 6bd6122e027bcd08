import { P2pandaError } from "../errors.ts";
import type { NodeId } from "../ids/node-id.ts";
import { ServiceStoppedError } from "../runtime/lifecycle.ts";

/** Where in a session something happened. */
export type SyncPhase = "handshake" | "sync" | "live";

/**
 * The remote sent a message that is not allowed in the current state of the protocol (spec
 * §6.3: "unexpected message in any state → session error").
 */
export class SyncProtocolError extends P2pandaError {
  static override readonly name: string = "SyncProtocolError";
  /** The state we were in. */
  readonly state: string;
  /** The kind of message received (`"have"`, `"op"`, …). */
  readonly received: string;
  constructor(state: string, received: string, message?: string, code = "UNEXPECTED_MESSAGE") {
    super(code, message ?? `unexpected "${received}" message in state ${state}`);
    this.state = state;
    this.received = received;
  }
}

/** The remote sent an operation of a log or range it did not announce or we do not need. */
export class UnexpectedOperationError extends SyncProtocolError {
  static override readonly name: string = "UnexpectedOperationError";
  constructor(state: string, message: string) {
    super(state, "op", message, "UNEXPECTED_OPERATION");
  }
}

/**
 * In live mode the remote sent an operation of a log that does not belong to the session's topic
 * (see `SyncSessionOptions.isTopicLog`): a peer must not use a topic's session to push other data.
 */
export class ForeignLogError extends SyncProtocolError {
  static override readonly name: string = "ForeignLogError";
  constructor(message = "live operation of a log that does not belong to the session's topic") {
    super("log-sync/live", "live", message, "FOREIGN_LOG");
  }
}

/** The remote closed the stream before the protocol allowed it. */
export class UnexpectedStreamClosureError extends P2pandaError {
  static override readonly name: string = "UnexpectedStreamClosureError";
  readonly phase: SyncPhase;
  constructor(phase: SyncPhase) {
    super("UNEXPECTED_STREAM_CLOSURE", `remote closed the stream unexpectedly during ${phase}`);
    this.phase = phase;
  }
}

/** The acceptor is not subscribed to the topic the initiator asked for. */
export class TopicNotSubscribedError extends P2pandaError {
  static override readonly name: string = "TopicNotSubscribedError";
  constructor() {
    super("TOPIC_NOT_SUBSCRIBED", "not subscribed to the requested topic");
  }
}

/** An operation (header + body) is larger than the session accepts. */
export class OperationTooLargeError extends P2pandaError {
  static override readonly name: string = "OperationTooLargeError";
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number) {
    super("OPERATION_TOO_LARGE", `operation of ${size} bytes exceeds the limit of ${limit}`);
    this.size = size;
    this.limit = limit;
  }
}

/** A `Have` message lists more logs than the session accepts. */
export class TooManyLogsError extends P2pandaError {
  static override readonly name: string = "TooManyLogsError";
  readonly count: number;
  readonly limit: number;
  constructor(count: number, limit: number) {
    super("TOO_MANY_LOGS", `Have lists ${count} logs, more than the limit of ${limit}`);
    this.count = count;
    this.limit = limit;
  }
}

/** The remote sent more operations or bytes than its `PreSync` announced. */
export class AnnouncedTotalsExceededError extends P2pandaError {
  static override readonly name: string = "AnnouncedTotalsExceededError";
  constructor(what: "operations" | "bytes", announced: number) {
    super(
      "ANNOUNCED_TOTALS_EXCEEDED",
      `remote sent more ${what} than the ${announced} it announced`,
    );
  }
}

/** The session was stopped locally before it ended. */
export class SessionAbortedError extends P2pandaError {
  static override readonly name: string = "SessionAbortedError";
  constructor(reason = "session aborted") {
    super("SESSION_ABORTED", reason);
  }
}

/**
 * The sync service was stopped, or a closed handle was used. A {@link ServiceStoppedError} with
 * its own code, `SYNC_STOPPED`.
 */
export class SyncStoppedError extends ServiceStoppedError {
  static override readonly name: string = "SyncStoppedError";
  constructor(message = "sync is stopped") {
    super("sync", "SYNC_STOPPED");
    this.message = message;
  }
}

/** An incoming sync session was refused (too many at once, remote on cool-down, or stopping). */
export class SyncSessionRefusedError extends P2pandaError {
  static override readonly name: string = "SyncSessionRefusedError";
  constructor(remote: NodeId, reason = "refused") {
    super("SYNC_SESSION_REFUSED", `sync session from ${remote.slice(0, 8)} refused: ${reason}`);
  }
}

/** An accepted session still in its handshake was ended to make room for a new one. */
export class SyncSessionEvictedError extends P2pandaError {
  static override readonly name: string = "SyncSessionEvictedError";
  constructor(remote: NodeId) {
    super(
      "SYNC_SESSION_EVICTED",
      `sync session from ${remote.slice(0, 8)} evicted: all slots taken and it named no topic yet`,
    );
  }
}
