import { memory } from "@libp2p/memory";
import { toHex } from "../bytes.ts";
import { cryptoRng } from "../random.ts";
import type { Endpoint } from "./endpoint.ts";
import type { EndpointOptions } from "./endpoint-options.ts";
import { startEndpoint } from "./libp2p-endpoint.ts";

/** Options of {@link createMemoryEndpoint}. */
export interface MemoryEndpointOptions extends EndpointOptions {
  /** Listen address, `/memory/<name>`; default a random name. */
  readonly listen?: string;
  /** Delay added to every buffer sent, in ms (tests of races over a slow link). Default 0. */
  readonly latencyMs?: number;
}

/**
 * Creates and starts an endpoint on libp2p's in-process memory transport: real libp2p (noise,
 * yamux, protocol negotiation, gater) without sockets, for fast tests and benchmarks. Nodes in
 * one JavaScript realm reach each other at their `/memory/…` addresses.
 */
export function createMemoryEndpoint(options: MemoryEndpointOptions): Promise<Endpoint> {
  return startEndpoint(options, {
    transports: [memory(options.latencyMs ? { latency: options.latencyMs } : {})],
    listen: [options.listen ?? `/memory/${toHex(cryptoRng.bytes(8))}`],
  });
}
