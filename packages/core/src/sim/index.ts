/**
 * The simulators' shared pieces: a virtual-time scheduler, one network model (latency,
 * reachability, partitions), churn, convergence measurement, wire sizes, statistics, and an
 * in-memory address book with simulated transport infos. The protocol simulators
 * (`DiscoverySimulator`, `GossipSimulator`) drive the production cores on top of them.
 * @module @p2panda-web/core/sim
 */
export * from "./address-book.ts";
export * from "./churn.ts";
export * from "./convergence.ts";
export * from "./network.ts";
export * from "./scheduler.ts";
export * from "./statistics.ts";
export * from "./transport-info.ts";
export * from "./wire-size.ts";
