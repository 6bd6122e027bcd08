/**
 * Gossip (spec §5): per-topic HyParView membership and PlumTree broadcast as sans-IO state
 * machines, a multi-topic {@link GossipState} with input checks and per-link rate limits, and a
 * virtual-time {@link GossipSimulator}.
 * @module @p2panda-web/core/gossip
 */
export * from "./config.ts";
export * from "./errors.ts";
export * from "./gossip-handle.ts";
export * from "./gossip-service.ts";
export * from "./gossip-state.ts";
export * from "./hyparview.ts";
export * from "./link-policy.ts";
export type { LinkTable, LinkTableMetrics } from "./link-table.ts";
export * from "./messages.ts";
export * from "./overlay-healer.ts";
export * from "./plumtree.ts";
export * from "./simulator.ts";
export * from "./token-bucket.ts";
export * from "./topic-gossip.ts";
