/**
 * @p2panda-web/core: identifiers, identity, codec, node records and the protocol state
 * machines of p2panda-web.
 * @module @p2panda-web/core
 */
export * from "./bytes.ts";
export * from "./clock.ts";
export * from "./codec/cbor.ts";
export * from "./codec/framing.ts";
export * from "./codec/message-channel.ts";
export * from "./composition/index.ts";
export * from "./crypto/payload-key.ts";
export * from "./errors.ts";
export * from "./hash.ts";
export * from "./hybrid-timestamp.ts";
export * from "./identity/ed25519.ts";
export * from "./identity/identity.ts";
export * from "./ids/network-id.ts";
export * from "./ids/node-id.ts";
export * from "./ids/topic.ts";
export * from "./ids/topic-secret.ts";
export * from "./peer-cool-down.ts";
export * from "./random.ts";
export * from "./records/node-info.ts";
export * from "./records/transport-info.ts";
export * from "./runtime/index.ts";
export * from "./sim/scheduler.ts";
export * from "./storage/indexeddb.ts";
