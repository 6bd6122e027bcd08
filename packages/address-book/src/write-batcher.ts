import { encodeNodeInfo, type NodeId, type Topic } from "@p2panda-web/core";
import { AddressBookClosedError } from "./errors.ts";
import type { AddressBookStore } from "./store.ts";

/** One pending write of a persistent store, already encoded for the backend. */
export type StoreWrite =
  | { readonly kind: "putNode"; readonly id: NodeId; readonly bytes: Uint8Array }
  | { readonly kind: "deleteNode"; readonly id: NodeId }
  | { readonly kind: "putTopics"; readonly id: NodeId; readonly topics: readonly Topic[] };

interface Batch {
  readonly writes: Map<string, StoreWrite>;
  readonly done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function newBatch(): Batch {
  let resolve: () => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A batch nobody awaits must not become an unhandled rejection; callers get `done` directly.
  promise.catch(() => {});
  return { writes: new Map(), done: promise, resolve, reject };
}

/**
 * Group commit for the persistent stores: writes issued while a commit is running (or in the
 * same tick) are collected and committed together in one transaction, so many concurrent
 * inserts cost one fsync instead of one each. Order is kept: batches commit one after another,
 * and inside a batch only the newest write per (table, node) survives, with the same end state as
 * applying them one by one (a node delete also removes its topics).
 */
export class WriteBatcher {
  readonly #commit: (writes: StoreWrite[]) => Promise<void> | void;
  #pending: Batch | undefined;
  #running: Promise<void> | undefined;
  #closed = false;

  /** @param commit - writes one batch durably (in one transaction), in the given order. */
  constructor(commit: (writes: StoreWrite[]) => Promise<void> | void) {
    this.#commit = commit;
  }

  /** Queues a write; resolves when the batch holding it is committed. */
  write(write: StoreWrite): Promise<void> {
    if (this.#closed) return Promise.reject(new AddressBookClosedError("the store is closed"));
    let batch = this.#pending;
    if (batch === undefined) {
      batch = newBatch();
      this.#pending = batch;
      if (this.#running === undefined) queueMicrotask(() => this.#flush());
    }
    const topicsKey = `t:${write.id}`;
    const key = write.kind === "putTopics" ? topicsKey : `n:${write.id}`;
    if (write.kind === "deleteNode") batch.writes.delete(topicsKey);
    if (
      write.kind === "putNode" &&
      batch.writes.get(key)?.kind === "deleteNode" &&
      !batch.writes.has(topicsKey)
    ) {
      // The put replaces the pending delete, but the delete's other effect (dropping the stored
      // topics) must survive it.
      batch.writes.set(topicsKey, { kind: "putTopics", id: write.id, topics: [] });
    }
    // Re-inserting moves the key to the end, so a delete followed by a put keeps that order.
    batch.writes.delete(key);
    batch.writes.set(key, write);
    return batch.done;
  }

  /** Waits until every queued write is committed (or failed). */
  async drain(): Promise<void> {
    while (this.#running !== undefined || this.#pending !== undefined) {
      await (this.#running ?? this.#pending?.done.catch(() => {}));
    }
  }

  /** Refuses new writes and waits for the queued ones. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.drain();
  }

  #flush(): void {
    const batch = this.#pending;
    if (batch === undefined || this.#running !== undefined) return;
    this.#pending = undefined;
    this.#running = (async () => {
      try {
        await this.#commit([...batch.writes.values()]);
        batch.resolve();
      } catch (error) {
        batch.reject(error);
      }
    })().finally(() => {
      this.#running = undefined;
      if (this.#pending !== undefined) this.#flush();
    });
  }
}

/** The write half of an {@link AddressBookStore}, queued on `batcher` (shared by the backends). */
export function batchedStoreWrites(
  batcher: WriteBatcher,
): Pick<AddressBookStore, "putNode" | "deleteNode" | "putTopics"> {
  return {
    putNode: (info) =>
      batcher.write({ kind: "putNode", id: info.nodeId, bytes: encodeNodeInfo(info) }),
    deleteNode: (id) => batcher.write({ kind: "deleteNode", id }),
    putTopics: (id, list) => batcher.write({ kind: "putTopics", id, topics: [...list] }),
  };
}
