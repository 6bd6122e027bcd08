/**
 * @p2panda-web/address-book: the nodes a p2panda-web node knows (records, topics, health), kept
 * in memory for synchronous reads and persisted through a pluggable {@link AddressBookStore}:
 * IndexedDB in browsers ({@link indexedDbAddressBookStore}), memory for tests
 * ({@link memoryAddressBookStore}), SQLite in Node (`@p2panda-web/address-book/sqlite`).
 * @module @p2panda-web/address-book
 */

/** Re-exported from `@p2panda-web/core` for convenience. */
export { requestPersistentStorage } from "@p2panda-web/core";
export {
  AddressBook,
  type AddressBookMetrics,
  type AddressBookOptions,
  type Change,
  DEFAULT_MAX_NODES,
  DEFAULT_MAX_TOPICS_PER_NODE,
  type NodeInfoChange,
  type NodeTopicsChange,
  type TopicNodesChange,
  type WatchOptions,
} from "./address-book.ts";
export { AddressBookClosedError, AddressBookStoreError, TopicLimitError } from "./errors.ts";
export {
  type IndexedDbStoreOptions,
  indexedDbAddressBookStore,
} from "./indexeddb-store.ts";
export { memoryAddressBookStore } from "./memory-store.ts";
export type { AddressBookStore, StoredAddressBook } from "./store.ts";
