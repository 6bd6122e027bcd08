// The endpoint both ends of the sync catch-up bench run on: the reader in the bench's process
// (bench/sync-catch-up.bench.ts) and the writer in its own (bench/sync-catch-up-writer.ts).
import type { AddressBook } from "@p2panda-web/address-book";
import { Identity } from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import { createNodeEndpoint } from "@p2panda-web/core/node";

/**
 * A loopback WebSockets endpoint with a fresh identity. A machine loaded far beyond its cores can
 * hold an event loop past the default ping deadlines (3 s, and 3 s more to confirm), which closes
 * the connection: these endpoints ping every 30 s and give a ping 25 s, so that a slow run is
 * measured, not cut off.
 */
export async function catchUpEndpoint(addressBook: AddressBook): Promise<Endpoint> {
  return createNodeEndpoint({
    identity: await Identity.generate(),
    addressBook,
    allowPrivateAddresses: true,
    tcpPort: false,
    webrtcDirectPort: false,
    relay: false,
    liveness: { pingIntervalMs: 30_000, pingTimeoutMs: 25_000 },
  });
}
