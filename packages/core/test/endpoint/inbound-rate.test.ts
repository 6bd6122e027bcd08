import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { createNodeInfo, Identity, transportKind } from "@p2panda-web/core";
import type { Endpoint } from "@p2panda-web/core/endpoint";
import { afterEach, describe, expect, it } from "vitest";
import { loopbackEndpoint } from "./loopback.ts";

const running: { endpoint: Endpoint; book: AddressBook }[] = [];

afterEach(async () => {
  for (const { endpoint, book } of running.splice(0)) {
    await endpoint.stop();
    await book.close();
  }
});

async function node(): Promise<{ endpoint: Endpoint; book: AddressBook }> {
  const book = await AddressBook.open(memoryAddressBookStore());
  const endpoint = await loopbackEndpoint({
    identity: await Identity.generate(),
    addressBook: book,
  });
  running.push({ endpoint, book });
  return { endpoint, book };
}

describe("inbound connections from one host (a NAT, a proxy, the nodes or tabs of one machine)", () => {
  it("12 nodes on the same address that connect in the same second are all accepted", async () => {
    // libp2p's own default refuses the sixth connection per host and second: of 20 cluster
    // nodes on loopback that start together, most failed their first session with the bootstrap.
    const target = await node();
    const ws = target.endpoint.addresses().find((a) => transportKind(a) === "websockets");
    if (ws === undefined) throw new Error("no WebSockets address");
    const others = await Promise.all(Array.from({ length: 12 }, () => node()));
    for (const { book } of others) {
      await book.insertNodeInfo(
        createNodeInfo(target.endpoint.nodeId, {
          transports: { kind: "trusted", addresses: [ws] },
        }),
      );
    }
    const dials = await Promise.allSettled(
      others.map(({ endpoint }) => endpoint.dial(target.endpoint.nodeId)),
    );
    expect(dials.filter((d) => d.status === "rejected")).toEqual([]);
    expect(target.endpoint.metrics.inboundConnectionsRefused).toBe(0);
  });
});
