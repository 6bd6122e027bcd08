// A real libp2p node for integration tests and benchmarks: a Node endpoint (or one on libp2p's
// memory transport) that listens on loopback only, with no TCP, WebRTC-direct or relay.
import type { Endpoint, EndpointOptions } from "@p2panda-web/core/endpoint";
import { createMemoryEndpoint } from "@p2panda-web/core/memory";
import { createNodeEndpoint } from "@p2panda-web/core/node";

/** Which transport {@link loopbackEndpoint} uses. */
export type LoopbackTransport = "memory" | "websockets";

/** Starts an endpoint on loopback WebSockets (default) or on libp2p's memory transport. */
export function loopbackEndpoint(
  options: Pick<EndpointOptions, "identity" | "addressBook" | "bootstrap"> & {
    readonly transport?: LoopbackTransport;
  },
): Promise<Endpoint> {
  const { identity, addressBook, bootstrap = [] } = options;
  if (options.transport === "memory")
    return createMemoryEndpoint({ identity, addressBook, bootstrap });
  return createNodeEndpoint({
    identity,
    addressBook,
    bootstrap,
    allowPrivateAddresses: true,
    tcpPort: false,
    webrtcDirectPort: false,
    relay: false,
  });
}
