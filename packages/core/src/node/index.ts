/**
 * `@p2panda-web/core/node`: the Node.js endpoint preset (TCP, WebSockets and WebRTC-direct
 * listeners, circuit-relay server) and the WebRTC-direct certificate kept in a file. Node only;
 * browsers use `@p2panda-web/core/endpoint`.
 * @module @p2panda-web/core/node
 */

export {
  createNodeCryptoVerify,
  nodeCryptoLibp2pKey,
  type SyncEd25519Verify,
} from "./node-crypto-ed25519.ts";
export {
  createNodeEndpoint,
  DEFAULT_RELAY_SERVER_OPTIONS,
  type NodeEndpointOptions,
  type RelayServerOptions,
  relayServerSettings,
} from "./node-endpoint.ts";
export {
  createNodeVerifierPool,
  DEFAULT_NODE_VERIFY_ENGINE,
  type NodeVerifierPoolOptions,
  type NodeVerifyEngine,
} from "./node-verifier-pool.ts";
export {
  certhashOf,
  DEFAULT_CERTIFICATE_LIFESPAN_MS,
  DEFAULT_CERTIFICATE_RENEW_BEFORE_MS,
  loadOrCreateWebRtcDirectCertificate,
  type WebRtcDirectCertificateOptions,
  type WebRtcDirectCertificateResult,
} from "./webrtc-direct-certificate.ts";
