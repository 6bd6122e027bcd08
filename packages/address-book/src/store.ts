import type { NodeId, NodeInfo, Topic } from "@p2panda-web/core";

/** Everything an {@link AddressBookStore} holds, as read once when an address book opens. */
export interface StoredAddressBook {
  /** Every node record. */
  readonly nodes: readonly NodeInfo[];
  /** The topics of every node that has any (a node may have topics and no record, e.g. us). */
  readonly topics: ReadonlyMap<NodeId, readonly Topic[]>;
  /** How many stored entries could not be decoded and were skipped. */
  readonly corrupt: number;
}

/**
 * Where an address book keeps its records: the seam between `AddressBook` and a database
 * (memory, IndexedDB, SQLite). Every backend passes the same conformance suite.
 *
 * Contract for implementations:
 * - {@link AddressBookStore.load} returns everything; the address book reads it once, at open.
 * - Writes take effect in the order the methods were called, whether or not the caller awaited
 *   the previous one (later writes to the same node win), and each returned promise resolves
 *   only once that write is durable (committed) or rejects if it could not be.
 * - {@link AddressBookStore.close} waits for pending writes, then releases the database.
 *   Calling any method after `close` rejects.
 */
export interface AddressBookStore {
  /** Short backend name for logs and benchmarks: `"memory"`, `"indexeddb"`, `"sqlite"`. */
  readonly kind: string;
  /** Reads every node record and topic list. */
  load(): Promise<StoredAddressBook>;
  /** Inserts or replaces the record of `info.nodeId`. */
  putNode(info: NodeInfo): Promise<void>;
  /** Deletes the record of `id` and its topics. Deleting an unknown node is not an error. */
  deleteNode(id: NodeId): Promise<void>;
  /** Replaces the topics of `id`; an empty list deletes them. */
  putTopics(id: NodeId, topics: readonly Topic[]): Promise<void>;
  /** Waits for pending writes and closes the database. Idempotent. */
  close(): Promise<void>;
}
