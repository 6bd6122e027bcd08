import { createServer, type Server, type Socket } from "node:net";
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { createNodeInfo, Identity, isStale, NodeId } from "@p2panda-web/core";
import { DialFailedError, type Endpoint } from "@p2panda-web/core/endpoint";
import { createNodeEndpoint } from "@p2panda-web/core/node";
import { afterEach, describe, expect, it, vi } from "vitest";

const running: { endpoint: Endpoint; book: AddressBook }[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const { endpoint, book } of running.splice(0)) {
    await endpoint.stop();
    await book.close();
  }
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) await new Promise((done) => server.close(done));
});

/** A loopback WebSockets address that takes the TCP connection and then never answers. */
async function silentAddress(nodeId: NodeId): Promise<string> {
  const server = createServer((socket) => sockets.push(socket));
  servers.push(server);
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return `/ip4/127.0.0.1/tcp/${address.port}/ws/p2p/${NodeId.toPeerId(nodeId).toString()}`;
}

async function dialler(dialTimeoutMs?: number) {
  const book = await AddressBook.open(memoryAddressBookStore());
  const endpoint = await createNodeEndpoint({
    identity: await Identity.generate(),
    addressBook: book,
    allowPrivateAddresses: true,
    tcpPort: false,
    webrtcDirectPort: false,
    relay: false,
    ...(dialTimeoutMs !== undefined ? { dialTimeoutMs } : {}),
  });
  running.push({ endpoint, book });
  return { endpoint, book };
}

async function silentNode(book: AddressBook): Promise<NodeId> {
  const silent = (await Identity.generate()).nodeId;
  await book.insertNodeInfo(
    createNodeInfo(silent, {
      transports: { kind: "trusted", addresses: [await silentAddress(silent)] },
    }),
  );
  return silent;
}

describe("a dial is the node's failure only when the node did not answer in the dial's own time", () => {
  it("a dial its caller gave up on (a session's deadline) does not make the node stale", async () => {
    const { endpoint, book } = await dialler();
    const silent = await silentNode(book);
    const giveUp = new AbortController();
    const connecting = endpoint.connect(silent, "test/echo/v1", { signal: giveUp.signal });
    // The TCP connection is up and the WebSockets upgrade waits for an answer.
    await vi.waitFor(() => expect(sockets).toHaveLength(1));
    giveUp.abort(new Error("the session's deadline passed"));
    await expect(connecting).rejects.toBeInstanceOf(DialFailedError);
    const info = book.nodeInfo(silent);
    expect(info?.metrics.failures).toBe(0);
    expect(info !== undefined && isStale(info)).toBe(false);
  });

  it("a dial that ran out of the endpoint's own dial timeout does", async () => {
    const { endpoint, book } = await dialler(300);
    const silent = await silentNode(book);
    await expect(endpoint.connect(silent, "test/echo/v1")).rejects.toBeInstanceOf(DialFailedError);
    const info = book.nodeInfo(silent);
    expect(info?.metrics.failures).toBe(1);
    expect(info !== undefined && isStale(info)).toBe(true);
  });
});
