import { NodeId, toHex } from "@p2panda-web/core";
import type { Operation } from "@p2panda-web/core/sync";

/** One entry of a room's synced log: a signed operation of one author's log of the topic. */
export interface LogEntry {
  /** The author (whose key signed it). */
  readonly author: NodeId;
  /** Position in the author's log, from 0. */
  readonly seqNum: number;
  /** When the author wrote it, by the author's clock, in milliseconds since the epoch. */
  readonly timestamp: number;
  readonly content: Uint8Array;
  /** The operation's hash (hex): unique per entry. */
  readonly id: string;
  /** The content as UTF-8 text. */
  text(): string;
  /** The operation itself, for the full sync API. */
  readonly operation: Operation;
}

/** The {@link LogEntry} of an operation. */
export function logEntryOf(operation: Operation): LogEntry {
  // An encrypted room's operations carry their opened body as `payload`.
  const content = operation.payload ?? operation.body ?? new Uint8Array(0);
  return {
    author: NodeId.fromBytes(operation.header.verifyingKey),
    seqNum: operation.header.seqNum,
    // The header holds microseconds.
    timestamp: Math.floor(operation.header.timestamp / 1000),
    content,
    id: toHex(operation.hash),
    text: () => new TextDecoder().decode(content),
    operation,
  };
}

/**
 * A room's history in one order every node agrees on: each author's entries in log order, and
 * the logs interleaved by timestamp (then author id), taking the earliest next entry of any log.
 * A log stays in log order even if its author's clock went back.
 */
export function historyOrder(entries: readonly LogEntry[]): LogEntry[] {
  const logs = new Map<NodeId, LogEntry[]>();
  for (const entry of entries) {
    const log = logs.get(entry.author) ?? [];
    log.push(entry);
    logs.set(entry.author, log);
  }
  const heads = [...logs.values()].map((log) => log.sort((a, b) => a.seqNum - b.seqNum));
  const out: LogEntry[] = [];
  const next = heads.map(() => 0);
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const candidate = heads[i]?.[next[i] as number];
      if (candidate === undefined) continue;
      const current = best < 0 ? undefined : heads[best]?.[next[best] as number];
      if (current === undefined || earlier(candidate, current)) best = i;
    }
    if (best < 0) return out;
    out.push(heads[best]?.[next[best] as number] as LogEntry);
    next[best] = (next[best] as number) + 1;
  }
}

function earlier(a: LogEntry, b: LogEntry): boolean {
  return a.timestamp !== b.timestamp ? a.timestamp < b.timestamp : a.author < b.author;
}
