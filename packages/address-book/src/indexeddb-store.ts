import {
  decodeNodeInfo,
  idbResult,
  idbTransactionDone,
  NodeId,
  type NodeInfo,
  openIndexedDb,
  requestPersistentStorage,
  Topic,
} from "@p2panda-web/core";
import { AddressBookClosedError, AddressBookStoreError } from "./errors.ts";
import type { AddressBookStore, StoredAddressBook } from "./store.ts";
import { batchedStoreWrites, type StoreWrite, WriteBatcher } from "./write-batcher.ts";

const SCHEMA_VERSION = 1;
const NODES = "nodes";
const TOPICS = "topics";

/** Options of {@link indexedDbAddressBookStore}. */
export interface IndexedDbStoreOptions {
  /**
   * The IndexedDB implementation; default `globalThis.indexedDB`. Tests in Node pass a
   * `fake-indexeddb` factory (its globals must be installed too: `import "fake-indexeddb/auto"`).
   */
  readonly indexedDB?: IDBFactory;
  /**
   * Ask the browser to keep this origin's storage under pressure (see
   * {@link requestPersistentStorage}); best effort, does not delay opening. Default `true`.
   */
  readonly persist?: boolean;
}

/**
 * An {@link AddressBookStore} in the IndexedDB database `name` (browsers; `fake-indexeddb` in
 * Node). Two object stores keyed by node id: `nodes` holds `encodeNodeInfo` bytes, `topics` the
 * node's topic list. Writes use `durability: "strict"` (Chromium's default `relaxed` may lose
 * the last commits on a crash) and are group-committed: concurrent writes share a transaction.
 *
 * Only one tab per origin should write a given database; this store does not coordinate tabs.
 * If another connection upgrades or deletes the database, this one closes itself and further
 * writes reject.
 *
 * @throws AddressBookStoreError if no IndexedDB is available or the database cannot be opened.
 */
export async function indexedDbAddressBookStore(
  name: string,
  options: IndexedDbStoreOptions = {},
): Promise<AddressBookStore> {
  const factory = options.indexedDB ?? globalThis.indexedDB;
  if (factory === undefined) throw new AddressBookStoreError("IndexedDB is not available here");
  let db: IDBDatabase;
  try {
    db = await openIndexedDb(name, SCHEMA_VERSION, [NODES, TOPICS], factory);
  } catch (error) {
    throw new AddressBookStoreError(`cannot open IndexedDB database "${name}"`, { cause: error });
  }
  if (options.persist !== false) void requestPersistentStorage();
  let closed = false;
  db.addEventListener("versionchange", () => {
    closed = true;
    db.close();
  });

  const commit = async (writes: StoreWrite[]): Promise<void> => {
    if (closed) throw new AddressBookClosedError("the database was closed by another connection");
    const tx = db.transaction([NODES, TOPICS], "readwrite", { durability: "strict" });
    const done = idbTransactionDone(tx);
    const nodes = tx.objectStore(NODES);
    const topics = tx.objectStore(TOPICS);
    // Requests are queued synchronously and run in order; a failed one aborts the transaction,
    // and `done` settles on commit or abort.
    for (const write of writes) {
      if (write.kind === "putNode") nodes.put(write.bytes, write.id);
      else if (write.kind === "deleteNode") {
        nodes.delete(write.id);
        topics.delete(write.id);
      } else if (write.topics.length === 0) topics.delete(write.id);
      else topics.put([...write.topics], write.id);
    }
    await done;
  };
  const batcher = new WriteBatcher(async (writes: StoreWrite[]) => {
    try {
      await commit(writes);
    } catch (error) {
      if (error instanceof AddressBookClosedError) throw error;
      throw new AddressBookStoreError("IndexedDB write failed", { cause: error });
    }
  });

  const assertOpen = (): void => {
    if (closed) throw new AddressBookClosedError("the store is closed");
  };

  return {
    kind: "indexeddb",
    async load(): Promise<StoredAddressBook> {
      assertOpen();
      const tx = db.transaction([NODES, TOPICS], "readonly");
      const done = idbTransactionDone(tx);
      const [nodeKeys, nodeValues, topicKeys, topicValues] = await Promise.all([
        idbResult(tx.objectStore(NODES).getAllKeys()),
        idbResult(tx.objectStore(NODES).getAll()),
        idbResult(tx.objectStore(TOPICS).getAllKeys()),
        idbResult(tx.objectStore(TOPICS).getAll()),
      ]);
      await done;
      const nodes: NodeInfo[] = [];
      const topics = new Map<NodeId, Topic[]>();
      let corrupt = 0;
      nodeValues.forEach((value: unknown, i) => {
        try {
          if (!(value instanceof Uint8Array)) throw new Error("not bytes");
          const info = decodeNodeInfo(value);
          if (info.nodeId !== nodeKeys[i]) throw new Error("key does not match the record");
          nodes.push(info);
        } catch {
          corrupt++;
        }
      });
      topicValues.forEach((value: unknown, i) => {
        const key = topicKeys[i];
        if (NodeId.is(key) && Array.isArray(value) && value.every((t) => Topic.is(t))) {
          topics.set(key, value);
        } else corrupt++;
      });
      return { nodes, topics, corrupt };
    },
    ...batchedStoreWrites(batcher),
    async close() {
      await batcher.close();
      if (!closed) {
        closed = true;
        db.close();
      }
    },
  };
}
