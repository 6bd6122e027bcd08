// withDialDeadline: a transport's dials end at a deadline of their own, below the endpoint's
// per-address timeout. A server that is down, over real transports: its WebSocket port refuses
// at once, and its WebRTC-direct port (UDP, nothing listening) never answers the handshake.
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { memory } from "@libp2p/memory";
import { webRTCDirect } from "@libp2p/webrtc";
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { HybridTimestamp, Identity, InvalidInputError, signTransportInfo } from "@p2panda-web/core";
import {
  type BrowserEndpointOptions,
  createEndpoint,
  DialFailedError,
  withDialDeadline,
} from "@p2panda-web/core/endpoint";
import { afterEach, describe, expect, it } from "vitest";
import { echo, introduce, memoryNode, stopAll, type TestNode } from "./helpers.ts";

const tabs: TestNode[] = [];

async function tab(options: Omit<BrowserEndpointOptions, "identity" | "addressBook">) {
  const identity = await Identity.generate();
  const addressBook = await AddressBook.open(memoryAddressBookStore());
  const endpoint = await createEndpoint({ ...options, identity, addressBook });
  const node = { identity, addressBook, endpoint };
  tabs.push(node);
  return node;
}

afterEach(async () => {
  for (const node of tabs.splice(0)) {
    await node.endpoint.stop();
    await node.addressBook.close();
  }
  await stopAll();
});

/** A TCP and a UDP port on loopback that were free a moment ago: nothing listens on them. */
async function closedPorts(): Promise<{ tcp: number; udp: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const tcp = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const udp = socket.address().port;
  await new Promise<void>((resolve) => socket.close(resolve));
  return { tcp, udp };
}

// Any certificate hash will do: no handshake gets that far.
const CERT_HASH = "uEiDOp7Q1DK1SvuFf46gx6gLGqbb8Jfa1a5F7Xm7LwwJvjA";

describe("withDialDeadline", () => {
  it("a server that is down fails a dial at the WebRTC-direct deadline, not at the 6 s per-address timeout", async () => {
    const server = await Identity.generate();
    const { tcp, udp } = await closedPorts();
    const info = await signTransportInfo(server, new HybridTimestamp(Date.now(), 0), [
      `/ip4/127.0.0.1/tcp/${tcp}/ws`,
      `/ip4/127.0.0.1/udp/${udp}/webrtc-direct/certhash/${CERT_HASH}`,
    ]);
    const deadlineMs = 500;
    const client = await tab({
      allowPrivateAddresses: true,
      transports: [
        withDialDeadline(webRTCDirect({ rtcConfiguration: { iceServers: [] } }), deadlineMs),
      ],
    });
    await client.addressBook.insertTransportInfo(server.nodeId, info);
    const started = performance.now();
    await expect(client.endpoint.dial(server.nodeId)).rejects.toBeInstanceOf(DialFailedError);
    const tookMs = performance.now() - started;
    // The endpoint tries a failed dial once more: two deadlines and the refused WebSockets.
    expect(tookMs).toBeGreaterThanOrEqual(deadlineMs);
    expect(tookMs).toBeLessThan(3_000);
  });

  it("a dial within its deadline connects as it would without one", async () => {
    const server = await memoryNode();
    server.endpoint.accept("test/echo/v1", echo);
    const client = await tab({ transports: [withDialDeadline(memory(), 2_000)] });
    await introduce(client, server);
    const channel = await client.endpoint.connect(server.endpoint.nodeId, "test/echo/v1");
    await channel.send("within the deadline");
    expect(await channel.receive()).toBe("within the deadline");
    await channel.close();
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])("refuses a deadline of %s ms", (ms) => {
    expect(() => withDialDeadline(memory(), ms)).toThrow(InvalidInputError);
  });
});
