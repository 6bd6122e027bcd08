/**
 * @p2panda-web/core/sync: signed append-only logs and the topic log sync protocol (spec §6),
 * sans-IO state machines first (`TopicHandshake`, `LogSync`), a session runner over a
 * `MessageChannel` (`SyncSession`), stores (`LogStore`, `TopicStore`, memory backends) and the
 * data-type-agnostic seam (`SyncProtocol`).
 * @module @p2panda-web/core/sync
 */
export * from "./dedup.ts";
export * from "./errors.ts";
export * from "./events.ts";
export * from "./header.ts";
export * from "./ingest.ts";
export * from "./log-heights.ts";
export * from "./log-id.ts";
export * from "./log-sync.ts";
export * from "./log-sync-protocol.ts";
export * from "./messages.ts";
export * from "./metrics.ts";
export * from "./operation.ts";
export * from "./payload-encryption.ts";
export * from "./protocol.ts";
export * from "./remote-fault.ts";
export * from "./service-events.ts";
export * from "./session.ts";
export * from "./signature-batch.ts";
export * from "./simulator.ts";
export * from "./store/append-plan.ts";
export * from "./store/log-store.ts";
export * from "./store/memory.ts";
export * from "./store/topic-store.ts";
export * from "./sync-handle.ts";
export * from "./sync-manager.ts";
export * from "./sync-service.ts";
export * from "./topic-handshake.ts";
export * from "./validation.ts";
export * from "./verifier-pool.ts";
