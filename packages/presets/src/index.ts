/**
 * @p2panda-web/presets: `createNode` with its storage picked, for a browser tab (IndexedDB; this
 * entry) and for a Node.js process (SQLite; `@p2panda-web/presets/node`). They live in a package
 * of their own because the stores come from `@p2panda-web/address-book` and
 * `@p2panda-web/log-store`, which depend on `@p2panda-web/core`, where `createNode` is.
 * @module @p2panda-web/presets
 */
export {
  type BrowserNodeOptions,
  type BrowserNodeStorage,
  createBrowserNode,
} from "./browser-node.ts";
export {
  acquireIdentityOfScope,
  acquireStoredIdentity,
  defaultIdentityLocks,
  IDENTITY_DATABASE,
  type IdentityLocks,
  identitySlotLockName,
  loadIdentitySlot,
  memoryLocks,
  type StoredIdentity,
  type StoredIdentityOptions,
  webLocks,
} from "./identity-store.ts";
export {
  type BrowserRoomNode,
  type JoinTopicOptions,
  joinTopic,
  resolveTopic,
} from "./join-topic.ts";
export type { PresetNodeOptions } from "./preset-options.ts";
export {
  RoomLeftError,
  RoomMessageTooLargeError,
  RoomPublishQueueFullError,
  RoomPublishTimeoutError,
} from "./room/errors.ts";
export { historyOrder, type LogEntry, logEntryOf } from "./room/log-entry.ts";
export {
  DEFAULT_PUBLISH_QUEUE_CONFIG,
  PublishQueue,
  type PublishQueueConfig,
} from "./room/publish-queue.ts";
export {
  Room,
  type RoomAppendOptions,
  type RoomContent,
  RoomLog,
  type RoomOptions,
} from "./room/room.ts";
export {
  decodeRoomMessage,
  encodeRoomMessage,
  ROOM_MESSAGE_VERSION,
  type RoomMessage,
} from "./room/room-message.ts";
export type { RoomNode } from "./room/room-node.ts";
export { type RoomStoreNames, roomStoreNames, topicStorageKey } from "./store-names.ts";
export { SharedRoom, type SharedRoomOptions, type TabRole } from "./tabs/shared-room.ts";
export { broadcastTabChannel, type TabChannel } from "./tabs/tab-channel.ts";
export {
  TabCallFailedError,
  TabCallTimeoutError,
  TabLeaderSteppedDownError,
  TabLeaderTimeoutError,
} from "./tabs/tab-errors.ts";
export type { TopicRoom, TopicRoomLog } from "./tabs/topic-room.ts";
