// The gap-freedom rule of `LogStore.putMany`, planned before any I/O: one pure rule shared by
// every backend (memory here; IndexedDB and SQLite in @p2panda-web/log-store), so they accept
// and refuse exactly the same batches.
import { bytesEqual } from "../../bytes.ts";
import type { NodeId } from "../../ids/node-id.ts";
import { type LogId, logIdKey } from "../log-id.ts";
import { authorOf, logIdOf, type Operation } from "../operation.ts";
import { LogForkError, LogGapError } from "./log-store.ts";

/** An operation of a batch with the keys of its log, computed once before any I/O. */
export interface BatchItem {
  readonly operation: Operation;
  readonly author: NodeId;
  readonly logId: LogId;
  /** Hex of the log id's CBOR encoding: how backends key logs. */
  readonly logIdHex: string;
  /** `author/logIdHex`: unique per log within a batch. */
  readonly log: string;
}

/** The latest operation a backend holds of a log (`height` -1 and no hash when it holds none). */
export interface LogTip {
  readonly height: number;
  readonly hash: Uint8Array | undefined;
}

/** What a batch does to the logs, decided before anything is written. */
export interface AppendPlan {
  /** Operations to append, in batch order. */
  readonly insert: readonly BatchItem[];
  /** Operations already held at their place (or earlier in the batch); skipped. */
  readonly duplicates: number;
  /**
   * Operations at a place the store already holds: the backend compares each with the stored
   * one ({@link assertSameOperation}). Only those before {@link AppendPlan.gap}, so errors
   * come in batch order.
   */
  readonly checks: readonly BatchItem[];
  /** The first operation that would leave a gap; nothing from it on was planned. */
  readonly gap?: LogGapError;
  /** The new tip of every log the batch appends to. */
  readonly tips: ReadonlyMap<string, LogTip & { readonly first: BatchItem }>;
}

/** Keys of each operation of a batch. */
export function batchItems(operations: readonly Operation[]): BatchItem[] {
  return operations.map((operation) => {
    const author = authorOf(operation.header);
    const logId = logIdOf(operation.header);
    const logIdHex = logIdKey(logId);
    return { operation, author, logId, logIdHex, log: `${author}/${logIdHex}` };
  });
}

/**
 * Runs the gap-freedom rules of `LogStore.putMany` over a batch against the stored tips
 * (`tipOf`, called once per log): a new log starts at `seqNum` 0; every other operation
 * directly follows its log's tip (`seqNum + 1`, backlink = the tip's hash); an operation at a
 * place already held is a duplicate if it is the same operation, a fork otherwise. Forks within
 * the batch throw {@link LogForkError} here; forks against stored operations are left to the
 * backend (see {@link AppendPlan.checks}).
 */
export function planAppend(
  items: readonly BatchItem[],
  tipOf: (item: BatchItem) => LogTip,
): AppendPlan {
  const tips = new Map<string, { height: number; hash: Uint8Array | undefined }>();
  const appended = new Map<string, { first: BatchItem; stored: number; ops: Operation[] }>();
  const insert: BatchItem[] = [];
  const checks: BatchItem[] = [];
  let duplicates = 0;
  for (const item of items) {
    let tip = tips.get(item.log);
    if (tip === undefined) {
      tip = { ...tipOf(item) };
      tips.set(item.log, tip);
    }
    const { seqNum } = item.operation.header;
    const mine = appended.get(item.log);
    if (seqNum <= tip.height) {
      duplicates++;
      if (mine !== undefined && seqNum > mine.stored) {
        const earlier = mine.ops[seqNum - mine.stored - 1] as Operation;
        if (!bytesEqual(earlier.hash, item.operation.hash)) throw new LogForkError(seqNum);
      } else {
        checks.push(item);
      }
      continue;
    }
    if (seqNum !== tip.height + 1) {
      return {
        insert,
        duplicates,
        checks,
        gap: new LogGapError(tip.height + 1, seqNum),
        tips: done(),
      };
    }
    const backlink = item.operation.header.backlink;
    if (
      seqNum > 0 &&
      (tip.hash === undefined || backlink === undefined || !bytesEqual(backlink, tip.hash))
    ) {
      const gap = new LogGapError(
        seqNum,
        seqNum,
        "backlink does not point at the log's latest operation",
      );
      return { insert, duplicates, checks, gap, tips: done() };
    }
    if (mine === undefined) {
      appended.set(item.log, { first: item, stored: tip.height, ops: [item.operation] });
    } else {
      mine.ops.push(item.operation);
    }
    tip.height = seqNum;
    tip.hash = item.operation.hash;
    insert.push(item);
  }
  return { insert, duplicates, checks, tips: done() };

  function done(): Map<string, LogTip & { first: BatchItem }> {
    const out = new Map<string, LogTip & { first: BatchItem }>();
    for (const [log, a] of appended) {
      const tip = tips.get(log) as LogTip;
      out.set(log, { height: tip.height, hash: tip.hash, first: a.first });
    }
    return out;
  }
}

/** Throws {@link LogForkError} unless the held operation `storedHash` is `item`'s. */
export function assertSameOperation(item: BatchItem, storedHash: Uint8Array | undefined): void {
  // A pruned place cannot be compared: we held it once, so it counts as a duplicate.
  if (storedHash !== undefined && !bytesEqual(storedHash, item.operation.hash)) {
    throw new LogForkError(item.operation.header.seqNum);
  }
}
