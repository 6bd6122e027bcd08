import { toHex } from "../bytes.ts";
import { DeduplicationBuffer } from "./dedup.ts";
import {
  AnnouncedTotalsExceededError,
  OperationTooLargeError,
  SyncProtocolError,
  UnexpectedOperationError,
} from "./errors.ts";
import { compareLogHeights, type LogHeights, type LogRange, logKey } from "./log-heights.ts";
import type { LiveMessage, LogSyncMessage, TopicSyncMessage } from "./messages.ts";
import { emptyMetrics, type SyncMetrics } from "./metrics.ts";
import { authorOf, decodeOperation, logIdOf, type Operation, operationSize } from "./operation.ts";

/** Limits on what a remote can make a session hold or process. */
export interface SyncLimits {
  /** Largest operation (header + body bytes) accepted. Default {@link DEFAULT_MAX_OPERATION_SIZE}. */
  readonly maxOperationSize: number;
  /** Most logs a `Have` may list. Default {@link DEFAULT_MAX_LOGS_IN_HAVE}. */
  readonly maxLogsInHave: number;
}

/** Default largest operation: fits with its message envelope in a default 1 MiB frame. */
export const DEFAULT_MAX_OPERATION_SIZE = 1_000_000;
/** Default most logs in one `Have`. */
export const DEFAULT_MAX_LOGS_IN_HAVE = 10_000;

/** The limits a {@link LogSync} applies unless its options say otherwise. */
export const DEFAULT_SYNC_LIMITS: SyncLimits = {
  maxOperationSize: DEFAULT_MAX_OPERATION_SIZE,
  maxLogsInHave: DEFAULT_MAX_LOGS_IN_HAVE,
};

/** What the log sync machine asks its driver to do. */
export type LogSyncOutput =
  | { readonly type: "send"; readonly message: LogSyncMessage | LiveMessage }
  /** Compute the totals of `ranges` (store) and call {@link LogSync.planned}. */
  | { readonly type: "plan"; readonly ranges: readonly LogRange[] }
  /** Stream the operations of `ranges` through {@link LogSync.send}, then {@link LogSync.sendingDone}. */
  | { readonly type: "stream"; readonly ranges: readonly LogRange[] }
  /** Both sides announced their totals. */
  | { readonly type: "sync-started" }
  /** Validate and store this operation (decoded, size-checked, not a repeat, in range). */
  | { readonly type: "receive"; readonly operation: Operation; readonly phase: "sync" | "live" }
  /** The remote sent everything it will send in the sync phase. */
  | { readonly type: "inbound-done" }
  /** Both directions of the sync phase are done. */
  | { readonly type: "finished" }
  /** The remote ended live mode. */
  | { readonly type: "remote-closed" };

type Inbound = "await-have" | "await-presync" | "receiving" | "done" | "live" | "closed";
type Outbound = "idle" | "have-sent" | "planned-pending" | "sending" | "done" | "live" | "closed";

interface ExpectedRange {
  readonly after: number;
  readonly until: number;
}

/**
 * Log sync (spec §6.3) for one session, both directions, sans-IO. The driver feeds it received
 * messages and the results of store work; it returns messages to send and work to do. It checks
 * protocol order, the limits (before decoding anything big), announced totals, the announced
 * ranges, de-duplicates, and keeps the metrics. Validation against the store (signature, chain)
 * is the driver's `receive` step.
 *
 * Every message out of order throws {@link SyncProtocolError}; after a throw the machine is dead.
 */
export class LogSync {
  readonly limits: SyncLimits;
  readonly metrics: SyncMetrics = emptyMetrics();
  readonly #dedup: DeduplicationBuffer<string>;
  #inbound: Inbound = "await-have";
  #outbound: Outbound = "idle";
  #local: LogHeights = [];
  #remoteNeeds: LogRange[] = [];
  #expected = new Map<string, ExpectedRange>();
  #inboundAnnounced = false;
  #outboundAnnounced = false;
  #syncStarted = false;
  #finished = false;
  #closeSent = false;

  constructor(limits: Partial<SyncLimits> = {}, dedupCapacity?: number) {
    this.limits = { ...DEFAULT_SYNC_LIMITS, ...limits };
    this.#dedup = new DeduplicationBuffer(dedupCapacity);
  }

  /** Whether the remote's side of the catch-up is over (its `done` arrived). */
  get inboundDone(): boolean {
    return this.#inbound === "done";
  }

  /** State of each direction, for errors and tests. */
  get state(): string {
    return `in:${this.#inbound}/out:${this.#outbound}`;
  }

  /** Whether both directions of the sync phase are done. */
  get isFinished(): boolean {
    return this.#finished;
  }

  /** Whether we sent `close` in live mode. */
  get closeSent(): boolean {
    return this.#closeSent;
  }

  /** Begins: announce our heights for the topic's logs. */
  start(local: LogHeights): LogSyncOutput[] {
    if (this.#outbound !== "idle") throw new Error("log sync already started");
    this.#local = local;
    this.#outbound = "have-sent";
    return [{ type: "send", message: { type: "have", heights: local } }];
  }

  /** The totals of what the remote needs from us (the answer to a `plan` output). */
  planned(totals: { operations: number; bytes: number }): LogSyncOutput[] {
    if (this.#outbound !== "planned-pending") throw new Error(`planned() in ${this.state}`);
    this.metrics.outboundOperations = totals.operations;
    this.metrics.outboundBytes = totals.bytes;
    this.#outboundAnnounced = true;
    const out: LogSyncOutput[] = [];
    if (totals.operations > 0) {
      this.#outbound = "sending";
      out.push(
        {
          type: "send",
          message: {
            type: "presync",
            totalOperations: totals.operations,
            totalBytes: totals.bytes,
          },
        },
        { type: "stream", ranges: this.#remoteNeeds },
      );
    } else {
      this.#outbound = "done";
      out.push({ type: "send", message: { type: "done" } });
    }
    this.#maybeStarted(out);
    this.#maybeFinished(out);
    return out;
  }

  /** Sends one stored operation in the sync phase (counted, remembered for de-dup). */
  send(operation: Operation): LogSyncOutput[] {
    if (this.#outbound !== "sending") throw new Error(`send() in ${this.state}`);
    this.metrics.sentSyncOperations++;
    this.metrics.sentSyncBytes += operationSize(operation);
    this.#dedup.insert(toHex(operation.hash));
    return [
      {
        type: "send",
        message: {
          type: "op",
          header: operation.headerBytes,
          ...(operation.body !== undefined ? { body: operation.body } : {}),
        },
      },
    ];
  }

  /** All needed operations were streamed: send `done`. */
  sendingDone(): LogSyncOutput[] {
    if (this.#outbound !== "sending") throw new Error(`sendingDone() in ${this.state}`);
    this.#outbound = "done";
    const out: LogSyncOutput[] = [{ type: "send", message: { type: "done" } }];
    this.#maybeFinished(out);
    return out;
  }

  /** Enters live mode (after `finished`). */
  startLive(): void {
    if (!this.#finished) throw new Error(`startLive() in ${this.state}`);
    this.#inbound = "live";
    this.#outbound = "live";
  }

  /**
   * Offers an operation for the remote in live mode: returns the `live` message unless the
   * operation was already sent to or received from this remote.
   */
  publish(operation: Operation): LogSyncOutput[] {
    if (this.#outbound !== "live") throw new Error(`publish() in ${this.state}`);
    if (!this.#dedup.insert(toHex(operation.hash))) return [];
    this.metrics.sentLiveOperations++;
    this.metrics.sentLiveBytes += operationSize(operation);
    return [
      {
        type: "send",
        message: {
          type: "live",
          header: operation.headerBytes,
          ...(operation.body !== undefined ? { body: operation.body } : {}),
        },
      },
    ];
  }

  /** Ends live mode from our side: send `close`, then wait for the remote to close. */
  close(): LogSyncOutput[] {
    if (this.#outbound !== "live") return [];
    this.#outbound = "closed";
    this.#closeSent = true;
    return [{ type: "send", message: { type: "close" } }];
  }

  /**
   * Handles one received message. Throws {@link SyncProtocolError} (or its subclass
   * {@link UnexpectedOperationError}) when it is not allowed now, `OperationTooLargeError`,
   * `AnnouncedTotalsExceededError`, or `DecodeError` for a malformed header.
   */
  handle(message: TopicSyncMessage): LogSyncOutput[] {
    const inbound = this.#inbound;
    switch (message.type) {
      case "have":
        if (inbound !== "await-have") break;
        return this.#onHave(message.heights);
      case "presync":
        if (inbound !== "await-presync") break;
        this.metrics.inboundOperations = message.totalOperations;
        this.metrics.inboundBytes = message.totalBytes;
        this.#inboundAnnounced = true;
        this.#inbound = "receiving";
        return this.#maybeStarted([]);
      case "done":
        if (inbound === "await-presync") {
          this.#inboundAnnounced = true;
          this.#inbound = "done";
          const out = this.#maybeStarted([]);
          out.push({ type: "inbound-done" });
          return this.#maybeFinished(out);
        }
        if (inbound === "receiving") {
          this.#inbound = "done";
          return this.#maybeFinished([{ type: "inbound-done" }]);
        }
        break;
      case "op":
        if (inbound !== "receiving") break;
        return this.#onSyncOperation(message.header, message.body);
      case "live":
        if (inbound !== "live") break;
        return this.#onLiveOperation(message.header, message.body);
      case "close":
        if (inbound !== "live") break;
        this.#inbound = "closed";
        return [{ type: "remote-closed" }];
    }
    throw new SyncProtocolError(`log-sync/${this.state}`, message.type);
  }

  #onHave(remote: LogHeights): LogSyncOutput[] {
    // What the remote may send us: exactly what it would compute for us.
    for (const range of compareLogHeights(remote, this.#local)) {
      this.#expected.set(logKey(range.author, range.logId), {
        after: range.after ?? -1,
        until: range.until,
      });
    }
    this.#remoteNeeds = compareLogHeights(this.#local, remote);
    this.#inbound = "await-presync";
    if (this.#outbound !== "have-sent") throw new Error(`have before start() in ${this.state}`);
    this.#outbound = "planned-pending";
    return [{ type: "plan", ranges: this.#remoteNeeds }];
  }

  #checkSize(header: Uint8Array, body: Uint8Array | undefined): number {
    const size = header.length + (body?.length ?? 0);
    if (size > this.limits.maxOperationSize) {
      throw new OperationTooLargeError(size, this.limits.maxOperationSize);
    }
    return size;
  }

  #onSyncOperation(header: Uint8Array, body: Uint8Array | undefined): LogSyncOutput[] {
    const size = this.#checkSize(header, body);
    const m = this.metrics;
    m.receivedSyncOperations++;
    m.receivedSyncBytes += size;
    if (m.receivedSyncOperations > m.inboundOperations) {
      throw new AnnouncedTotalsExceededError("operations", m.inboundOperations);
    }
    if (m.receivedSyncBytes > m.inboundBytes) {
      throw new AnnouncedTotalsExceededError("bytes", m.inboundBytes);
    }
    const operation = decodeOperation(header, body);
    if (!this.#dedup.insert(toHex(operation.hash))) {
      m.duplicateOperations++;
      return [];
    }
    const { seqNum } = operation.header;
    const range = this.#expected.get(logKey(authorOf(operation.header), logIdOf(operation.header)));
    if (range === undefined) {
      throw new UnexpectedOperationError(
        `log-sync/${this.state}`,
        "operation of a log the remote did not announce or we do not need",
      );
    }
    if (seqNum <= range.after || seqNum > range.until) {
      throw new UnexpectedOperationError(
        `log-sync/${this.state}`,
        `seqNum ${seqNum} outside the needed range (${range.after}, ${range.until}]`,
      );
    }
    return [{ type: "receive", operation, phase: "sync" }];
  }

  #onLiveOperation(header: Uint8Array, body: Uint8Array | undefined): LogSyncOutput[] {
    const size = this.#checkSize(header, body);
    const operation = decodeOperation(header, body);
    if (!this.#dedup.insert(toHex(operation.hash))) {
      this.metrics.duplicateOperations++;
      return [];
    }
    this.metrics.receivedLiveOperations++;
    this.metrics.receivedLiveBytes += size;
    return [{ type: "receive", operation, phase: "live" }];
  }

  #maybeStarted(out: LogSyncOutput[]): LogSyncOutput[] {
    if (!this.#syncStarted && this.#inboundAnnounced && this.#outboundAnnounced) {
      this.#syncStarted = true;
      out.push({ type: "sync-started" });
    }
    return out;
  }

  #maybeFinished(out: LogSyncOutput[]): LogSyncOutput[] {
    if (!this.#finished && this.#inbound === "done" && this.#outbound === "done") {
      this.#finished = true;
      out.push({ type: "finished" });
    }
    return out;
  }
}
