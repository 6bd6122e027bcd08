import type { NodeId } from "../ids/node-id.ts";
import { compareLogIds, type LogId, logIdKey } from "./log-id.ts";

/** The latest `seqNum` we hold of one log. */
export interface LogHeight {
  readonly author: NodeId;
  readonly logId: LogId;
  readonly seqNum: number;
}

/** Heights of a set of logs (what a node announces in `Have`), one entry per log. */
export type LogHeights = readonly LogHeight[];

/**
 * The part of one log a remote needs: operations with `after < seqNum <= until` (`after`
 * undefined: from the start).
 */
export interface LogRange {
  readonly author: NodeId;
  readonly logId: LogId;
  readonly after?: number;
  readonly until: number;
}

/** The logs of a topic: author → log ids (what a `TopicStore` resolves a topic to). */
export type TopicLogs = ReadonlyMap<NodeId, readonly LogId[]>;

/** A key equal for the same (author, log). */
export function logKey(author: NodeId, logId: LogId): string {
  return `${author}/${logIdKey(logId)}`;
}

/** Sorts heights or ranges by author, then log id: the order logs are announced and sent in. */
export function sortByLog<T extends { author: NodeId; logId: LogId }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) =>
    a.author < b.author ? -1 : a.author > b.author ? 1 : compareLogIds(a.logId, b.logId),
  );
}

/**
 * What the remote needs from us (spec §6.2): for every log we hold, everything up to our height
 * if the remote lacks the log (or its author), `(remoteHeight, ourHeight]` if it is behind,
 * nothing if equal or ahead. Sorted by author and log id.
 */
export function compareLogHeights(local: LogHeights, remote: LogHeights): LogRange[] {
  const remoteByLog = new Map<string, number>();
  for (const h of remote) remoteByLog.set(logKey(h.author, h.logId), h.seqNum);
  const needs: LogRange[] = [];
  for (const h of local) {
    const theirs = remoteByLog.get(logKey(h.author, h.logId));
    if (theirs === undefined) {
      needs.push({ author: h.author, logId: h.logId, until: h.seqNum });
    } else if (theirs < h.seqNum) {
      needs.push({ author: h.author, logId: h.logId, after: theirs, until: h.seqNum });
    }
  }
  return sortByLog(needs);
}
