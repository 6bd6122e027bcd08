/**
 * `@p2panda-web/presets/node`: `createNode` for a Node.js process, on SQLite. Node only.
 * @packageDocumentation
 */
export {
  ADDRESS_BOOK_FILE,
  createNodeJsNode,
  LOG_STORE_FILE,
  type NodeJsNodeOptions,
} from "./node-js-node.ts";
