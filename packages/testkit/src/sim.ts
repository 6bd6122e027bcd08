/**
 * `@p2panda-web/testkit/sim`: the simulators that run the production protocol cores on a virtual
 * clock (hundreds or thousands of nodes in one process, deterministic for a seed), and the
 * network model they share, to measure a configuration or reproduce a bug.
 * @module @p2panda-web/testkit/sim
 */
export {
  DiscoverySimulator,
  type DiscoverySimulatorOptions,
  type SimDiscoveryNode,
  type SimulationReport,
} from "@p2panda-web/core/discovery";
export {
  type BroadcastReport,
  GossipSimulator,
  type GossipSimulatorOptions,
  type SimGossipNode,
} from "@p2panda-web/core/gossip";
export * from "@p2panda-web/core/sim";
export {
  type SimSyncNode,
  type SyncSimulationReport,
  SyncSimulator,
  type SyncSimulatorOptions,
} from "@p2panda-web/core/sync";
