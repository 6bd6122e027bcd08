/**
 * `@p2panda-web/testkit/log-store`: the suites a `LogStore` / `TopicStore` backend runs: the
 * conformance suite of the seam, and the persistence suite of a backend that keeps its data.
 * @module @p2panda-web/testkit/log-store
 */
export * from "./identities.ts";
export * from "./log-store-conformance.ts";
export * from "./log-store-persistence.ts";
