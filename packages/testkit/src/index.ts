/**
 * @p2panda-web/testkit: what a third party needs to test its own adapters the way this project
 * tests its own: the conformance suites of the address book and the log and topic stores (run
 * them from your test files with a factory for your backend), and the protocol simulators.
 * Suites are written for Vitest.
 * @module @p2panda-web/testkit
 */
export * from "./address-book-conformance.ts";
export * from "./log-store.ts";
export * from "./sim.ts";
