import { P2pandaError } from "../../errors.ts";
import type { NodeId } from "../../ids/node-id.ts";
import type { LogHeight, TopicLogs } from "../log-heights.ts";
import type { LogId } from "../log-id.ts";
import type { Operation } from "../operation.ts";

/** Count and size (header + body bytes) of a part of a log. */
export interface LogSize {
  readonly operations: number;
  readonly bytes: number;
}

/** What {@link LogStore.putMany} did. */
export interface PutManyResult {
  /** Operations newly stored, in the order given. */
  readonly inserted: readonly Operation[];
  /** Operations already held (same id at the same place); skipped. */
  readonly duplicates: number;
}

/**
 * Append-only logs of operations, one per (author, log id). Implementations: memory (tests, the
 * simulator), IndexedDB (browsers), SQLite (Node). All pass the log-store conformance suite of `@p2panda-web/testkit`.
 *
 * The store keeps every log gap-free: an operation is only appended directly after the log's
 * latest one (`seqNum + 1`, backlink = its hash) or as `seqNum` 0 of a new log. It does **not**
 * verify signatures or payloads: callers validate first (`validateOperation`).
 */
export interface LogStore {
  /** The latest `seqNum` of each of `logs` we hold (logs we hold nothing of are left out). */
  heights(logs: TopicLogs): Promise<LogHeight[]>;
  /** The latest operation of a log, if any. */
  latest(author: NodeId, logId: LogId): Promise<Operation | undefined>;
  /** The operation at `seqNum`, if held (not pruned). */
  get(author: NodeId, logId: LogId, seqNum: number): Promise<Operation | undefined>;
  /**
   * Held operations with `after < seqNum <= until` in `seqNum` order, at most `limit` of them.
   * `after` undefined: from the start; `until` undefined: to the end. Pruned ones are skipped.
   */
  range(
    author: NodeId,
    logId: LogId,
    after?: number,
    until?: number,
    limit?: number,
  ): Promise<Operation[]>;
  /** Count and bytes of what {@link LogStore.range} would return without a limit. */
  rangeSize(author: NodeId, logId: LogId, after?: number, until?: number): Promise<LogSize>;
  /**
   * Appends operations, atomically: either all of them (duplicates skipped) or, on error, none.
   * Operations of one log must come in `seqNum` order. Throws {@link LogGapError} when one would
   * not directly follow its log's latest operation, {@link LogForkError} when another operation
   * already sits at its place.
   */
  putMany(operations: readonly Operation[]): Promise<PutManyResult>;
  /**
   * Deletes the operations of a log with `seqNum < before` (the latest one is always kept, so
   * the log's height and chain tip survive). Returns how many were deleted.
   */
  prune(author: NodeId, logId: LogId, before: number): Promise<number>;
}

/** An operation would leave a gap in its log (or start a new log past `seqNum` 0). */
export class LogGapError extends P2pandaError {
  static override readonly name: string = "LogGapError";
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number, message?: string) {
    super(
      "LOG_GAP",
      message ?? `operation with seqNum ${actual} does not follow the log (expected ${expected})`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** Another operation already sits at this place of the log (the author forked it). */
export class LogForkError extends P2pandaError {
  static override readonly name: string = "LogForkError";
  readonly seqNum: number;
  constructor(seqNum: number) {
    super("LOG_FORK", `a different operation is already stored at seqNum ${seqNum}`);
    this.seqNum = seqNum;
  }
}
