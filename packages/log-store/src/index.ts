/**
 * `@p2panda-web/log-store`: persistent `LogStore` and `TopicStore` backends for p2panda-web
 * sync. This entry point holds the IndexedDB backend (browsers; `fake-indexeddb` in Node) and
 * what every backend shares; the Node-only SQLite backend is `@p2panda-web/log-store/sqlite`.
 * Both pass core's store conformance suite, and both store each `putMany` batch atomically and
 * durably, so an interrupted write never leaves a gap in a log.
 * @module @p2panda-web/log-store
 */

/** Re-exported from `@p2panda-web/core` for convenience. */
export { requestPersistentStorage } from "@p2panda-web/core";
export { LogStoreClosedError, LogStoreError } from "./errors.ts";
export {
  INDEXEDDB_SCHEMA_VERSION,
  IndexedDbConnection,
  IndexedDbLogStore,
  type IndexedDbSyncStores,
  type IndexedDbSyncStoresOptions,
  IndexedDbTopicStore,
  openIndexedDbSyncStores,
} from "./indexeddb.ts";
export { logIdFromHex } from "./log-id-hex.ts";
