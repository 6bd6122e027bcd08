/**
 * `@p2panda-web/core/node`: the Node.js endpoint preset (TCP, WebSockets and WebRTC-direct
 * listeners, circuit-relay server). Node only; browsers use `@p2panda-web/core/endpoint`.
 * @module @p2panda-web/core/node
 */
export {
  createNodeEndpoint,
  DEFAULT_RELAY_SERVER_OPTIONS,
  type NodeEndpointOptions,
  type RelayServerOptions,
} from "./node-endpoint.ts";
