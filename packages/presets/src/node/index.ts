/**
 * `@p2panda-web/presets/node`: `createNode` for a Node.js process, on SQLite, and the Node.js
 * `joinTopic`. Node only.
 * @module @p2panda-web/presets/node
 */

export {
  IDENTITY_FILE,
  joinTopic,
  type NodeJsJoinTopicOptions,
  type NodeJsRoomNode,
} from "./join-topic.ts";
export {
  ADDRESS_BOOK_FILE,
  createNodeJsNode,
  LOG_STORE_FILE,
  type NodeJsNodeOptions,
  WEBRTC_DIRECT_CERTIFICATE_FILE,
} from "./node-js-node.ts";
