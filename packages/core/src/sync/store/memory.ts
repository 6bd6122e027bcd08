import type { NodeId } from "../../ids/node-id.ts";
import type { Topic } from "../../ids/topic.ts";
import { type LogHeight, logKey, type TopicLogs } from "../log-heights.ts";
import { compareLogIds, type LogId, logIdKey } from "../log-id.ts";
import { type Operation, operationSize } from "../operation.ts";
import { assertSameOperation, batchItems, planAppend } from "./append-plan.ts";
import type { LogSize, LogStore, PutManyResult } from "./log-store.ts";
import type { TopicStore } from "./topic-store.ts";

interface MemoryLog {
  /** Index = seqNum; pruned entries are `undefined`. */
  readonly operations: (Operation | undefined)[];
}

/** A {@link LogStore} in memory: for tests, the simulator and short-lived nodes. */
export class MemoryLogStore implements LogStore {
  readonly #logs = new Map<string, MemoryLog>();

  async heights(logs: TopicLogs): Promise<LogHeight[]> {
    const out: LogHeight[] = [];
    for (const [author, logIds] of logs) {
      for (const logId of logIds) {
        const log = this.#logs.get(logKey(author, logId));
        if (log !== undefined) out.push({ author, logId, seqNum: log.operations.length - 1 });
      }
    }
    return out;
  }

  async latest(author: NodeId, logId: LogId): Promise<Operation | undefined> {
    return this.#logs.get(logKey(author, logId))?.operations.at(-1);
  }

  async get(author: NodeId, logId: LogId, seqNum: number): Promise<Operation | undefined> {
    return this.#logs.get(logKey(author, logId))?.operations[seqNum];
  }

  async range(
    author: NodeId,
    logId: LogId,
    after?: number,
    until?: number,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<Operation[]> {
    const out: Operation[] = [];
    for (const op of this.#slice(author, logId, after, until)) {
      if (out.length >= limit) break;
      out.push(op);
    }
    return out;
  }

  async rangeSize(author: NodeId, logId: LogId, after?: number, until?: number): Promise<LogSize> {
    let operations = 0;
    let bytes = 0;
    for (const op of this.#slice(author, logId, after, until)) {
      operations++;
      bytes += operationSize(op);
    }
    return { operations, bytes };
  }

  *#slice(author: NodeId, logId: LogId, after?: number, until?: number): Generator<Operation> {
    const ops = this.#logs.get(logKey(author, logId))?.operations;
    if (ops === undefined) return;
    const end = Math.min(until ?? ops.length - 1, ops.length - 1);
    for (let s = (after ?? -1) + 1; s <= end; s++) {
      const op = ops[s];
      if (op !== undefined) yield op;
    }
  }

  async putMany(operations: readonly Operation[]): Promise<PutManyResult> {
    // Planned against the stored tips first, then applied: all or nothing.
    const plan = planAppend(batchItems(operations), (item) => {
      const stored = this.#logs.get(item.log)?.operations;
      return { height: (stored?.length ?? 0) - 1, hash: stored?.at(-1)?.hash };
    });
    for (const item of plan.checks) {
      const { seqNum } = item.operation.header;
      assertSameOperation(item, this.#logs.get(item.log)?.operations[seqNum]?.hash);
    }
    if (plan.gap !== undefined) throw plan.gap;
    for (const { log: key, operation } of plan.insert) {
      let log = this.#logs.get(key);
      if (log === undefined) {
        log = { operations: [] };
        this.#logs.set(key, log);
      }
      log.operations.push(operation);
    }
    return { inserted: plan.insert.map((item) => item.operation), duplicates: plan.duplicates };
  }

  async prune(author: NodeId, logId: LogId, before: number): Promise<number> {
    const ops = this.#logs.get(logKey(author, logId))?.operations;
    if (ops === undefined) return 0;
    let deleted = 0;
    const end = Math.min(before, ops.length - 1);
    for (let s = 0; s < end; s++) {
      if (ops[s] !== undefined) {
        ops[s] = undefined;
        deleted++;
      }
    }
    return deleted;
  }
}

/** A {@link TopicStore} in memory. */
export class MemoryTopicStore implements TopicStore {
  readonly #topics = new Map<Topic, Map<NodeId, Map<string, LogId>>>();

  async associate(topic: Topic, author: NodeId, logId: LogId): Promise<boolean> {
    let authors = this.#topics.get(topic);
    if (authors === undefined) {
      authors = new Map();
      this.#topics.set(topic, authors);
    }
    let logs = authors.get(author);
    if (logs === undefined) {
      logs = new Map();
      authors.set(author, logs);
    }
    const key = logIdKey(logId);
    if (logs.has(key)) return false;
    logs.set(key, logId);
    return true;
  }

  async remove(topic: Topic, author: NodeId, logId: LogId): Promise<boolean> {
    const logs = this.#topics.get(topic)?.get(author);
    if (logs === undefined || !logs.delete(logIdKey(logId))) return false;
    if (logs.size === 0) this.#topics.get(topic)?.delete(author);
    return true;
  }

  async resolve(topic: Topic): Promise<TopicLogs> {
    const out = new Map<NodeId, LogId[]>();
    const authors = this.#topics.get(topic);
    if (authors === undefined) return out;
    for (const author of [...authors.keys()].sort()) {
      const logs = [...(authors.get(author)?.values() ?? [])].sort(compareLogIds);
      out.set(author, logs);
    }
    return out;
  }
}
