/**
 * `@p2panda-web/core/memory`: an endpoint on libp2p's in-process memory transport, for tests and
 * benchmarks. An entry point of its own so that `@libp2p/memory` (an optional peer dependency)
 * is loaded only by code that asks for it, never by a browser app's endpoint.
 * @packageDocumentation
 */
export { createMemoryEndpoint, type MemoryEndpointOptions } from "../endpoint/memory-preset.ts";
