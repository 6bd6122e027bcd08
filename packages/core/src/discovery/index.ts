/**
 * Confidential discovery (spec §4): random walkers, backoff, the PSI-hash handshake and the
 * manager policy, all sans-IO, plus a session runner over a `MessageChannel` and a simulator.
 * @module @p2panda-web/core/discovery
 */
export * from "./backoff.ts";
export * from "./discovery-manager.ts";
export * from "./discovery-service.ts";
export * from "./errors.ts";
export * from "./messages.ts";
export * from "./psi-handshake.ts";
export * from "./random-walker.ts";
export * from "./session-runner.ts";
export * from "./simulator.ts";
export * from "./walker-step.ts";
