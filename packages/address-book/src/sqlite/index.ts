/**
 * `@p2panda-web/address-book/sqlite`: the SQLite backend of the address book, on Node 22's
 * built-in `node:sqlite`. Node only; browsers never import this entry point.
 * @module @p2panda-web/address-book/sqlite
 */
import { DatabaseSync } from "node:sqlite";
import { decodeNodeInfo, NodeId, type NodeInfo, Topic } from "@p2panda-web/core";
import { AddressBookClosedError, AddressBookStoreError } from "../errors.ts";
import type { AddressBookStore, StoredAddressBook } from "../store.ts";
import { batchedStoreWrites, type StoreWrite, WriteBatcher } from "../write-batcher.ts";

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS nodes (
  node_id TEXT PRIMARY KEY NOT NULL,
  info BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS node_topics (
  node_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  PRIMARY KEY (node_id, topic)
) WITHOUT ROWID;
`;

/**
 * An `AddressBookStore` in the SQLite database at `path` (created if missing; `":memory:"` for a
 * throwaway one), through Node 22's built-in `node:sqlite`: no native module to build.
 *
 * Tables `nodes(node_id, info)` (`info` = `encodeNodeInfo` bytes) and `node_topics(node_id,
 * topic)`. The database runs in WAL mode with `synchronous = FULL`, so a write's promise
 * resolves only after its transaction is on disk. Concurrent writes are group-committed: all
 * writes issued while a commit runs share the next transaction.
 *
 * One process should open a given file at a time (SQLite allows more, but two address books over
 * one file would not see each other's changes).
 *
 * @throws AddressBookStoreError if the file cannot be opened or has a newer schema.
 */
export async function sqliteAddressBookStore(path: string): Promise<AddressBookStore> {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
    const version = (db.prepare("PRAGMA user_version").get() as { user_version: number })
      .user_version;
    if (version > SCHEMA_VERSION) {
      db.close();
      throw new Error(`schema version ${version} is newer than ${SCHEMA_VERSION}`);
    }
    db.exec(SCHEMA);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  } catch (error) {
    throw new AddressBookStoreError(`cannot open SQLite database "${path}"`, { cause: error });
  }

  const putNode = db.prepare("INSERT OR REPLACE INTO nodes (node_id, info) VALUES (?, ?)");
  const deleteNode = db.prepare("DELETE FROM nodes WHERE node_id = ?");
  const deleteTopics = db.prepare("DELETE FROM node_topics WHERE node_id = ?");
  const insertTopic = db.prepare(
    "INSERT OR IGNORE INTO node_topics (node_id, topic) VALUES (?, ?)",
  );
  const selectNodes = db.prepare("SELECT node_id, info FROM nodes");
  const selectTopics = db.prepare("SELECT node_id, topic FROM node_topics ORDER BY node_id");

  const apply = (write: StoreWrite): void => {
    switch (write.kind) {
      case "putNode":
        putNode.run(write.id, write.bytes);
        break;
      case "deleteNode":
        deleteNode.run(write.id);
        deleteTopics.run(write.id);
        break;
      case "putTopics":
        deleteTopics.run(write.id);
        for (const topic of write.topics) insertTopic.run(write.id, topic);
        break;
    }
  };

  let closed = false;
  const batcher = new WriteBatcher((writes) => {
    try {
      db.exec("BEGIN IMMEDIATE");
      try {
        for (const write of writes) apply(write);
        db.exec("COMMIT");
      } catch (error) {
        db.exec("ROLLBACK");
        throw error;
      }
    } catch (error) {
      throw new AddressBookStoreError("SQLite write failed", { cause: error });
    }
  });

  return {
    kind: "sqlite",
    async load(): Promise<StoredAddressBook> {
      if (closed) throw new AddressBookClosedError("the store is closed");
      const nodes: NodeInfo[] = [];
      const topics = new Map<NodeId, Topic[]>();
      let corrupt = 0;
      for (const row of selectNodes.iterate() as Iterable<{ node_id: unknown; info: unknown }>) {
        try {
          if (!(row.info instanceof Uint8Array)) throw new Error("not bytes");
          const info = decodeNodeInfo(row.info);
          if (info.nodeId !== row.node_id) throw new Error("key does not match the record");
          nodes.push(info);
        } catch {
          corrupt++;
        }
      }
      for (const row of selectTopics.iterate() as Iterable<{ node_id: unknown; topic: unknown }>) {
        if (!NodeId.is(row.node_id) || !Topic.is(row.topic)) {
          corrupt++;
          continue;
        }
        const list = topics.get(row.node_id);
        if (list === undefined) topics.set(row.node_id, [row.topic]);
        else list.push(row.topic);
      }
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
