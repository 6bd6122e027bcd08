// The browser endpoint's transports: WebSockets, WebRTC and circuit relay always, anything else
// (WebRTC-direct, WebTransport) only when the app passes it in, so that apps which do not use
// them do not ship them. The memory transport stands in for such an extra transport here:
// WebRTC-direct listeners crash node-datachannel in a process that also runs WebRTC peers.
import { memory } from "@libp2p/memory";
import { AddressBook, memoryAddressBookStore } from "@p2panda-web/address-book";
import { Identity, InvalidInputError } from "@p2panda-web/core";
import {
  type BrowserEndpointOptions,
  createEndpoint,
  DialFailedError,
} from "@p2panda-web/core/endpoint";
import { afterEach, describe, expect, it } from "vitest";
import { echo, introduce, memoryNode, stopAll, type TestNode } from "./helpers.ts";

const browserNodes: TestNode[] = [];

async function browserNode(
  options: Omit<BrowserEndpointOptions, "identity" | "addressBook"> = {},
): Promise<TestNode> {
  const identity = await Identity.generate();
  const addressBook = await AddressBook.open(memoryAddressBookStore());
  const endpoint = await createEndpoint({ ...options, identity, addressBook });
  const node = { identity, addressBook, endpoint };
  browserNodes.push(node);
  return node;
}

afterEach(async () => {
  for (const node of browserNodes.splice(0)) {
    await node.endpoint.stop();
    await node.addressBook.close();
  }
  await stopAll();
});

describe("the browser endpoint dials the transports it was given, and only those", () => {
  it("without extra transports, a node reachable only over another transport is out of reach", async () => {
    const server = await memoryNode();
    server.endpoint.accept("test/echo/v1", echo);
    const tab = await browserNode();
    await introduce(tab, server);
    await expect(
      tab.endpoint.connect(server.endpoint.nodeId, "test/echo/v1"),
    ).rejects.toBeInstanceOf(DialFailedError);
  });

  it("a transport passed in `transports` is dialled", async () => {
    const server = await memoryNode();
    server.endpoint.accept("test/echo/v1", echo);
    const tab = await browserNode({ transports: [memory()] });
    await introduce(tab, server);
    const channel = await tab.endpoint.connect(server.endpoint.nodeId, "test/echo/v1");
    await channel.send("over the extra transport");
    expect(await channel.receive()).toBe("over the extra transport");
    expect(tab.endpoint.connections().map((c) => c.remote)).toContain(server.endpoint.nodeId);
    await channel.close();
  });
});

describe("relay-only mode (relayOnly) needs a TURN server", () => {
  it("refuses relayOnly without a turn: or turns: server, naming what is missing", async () => {
    const stun = [{ urls: "stun:stun.example.org:3478" }];
    for (const iceServers of [undefined, [], stun]) {
      const error = await browserNode({
        relayOnly: true,
        ...(iceServers !== undefined ? { iceServers } : {}),
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidInputError);
      expect(String(error)).toContain("relayOnly needs a TURN server");
    }
  });

  it("starts with a TURN server (turns: counts, so does a list of urls)", async () => {
    for (const urls of ["turn:10.0.0.1:3478", ["stun:10.0.0.1", "turns:turn.example.org:443"]]) {
      const node = await browserNode({
        relayOnly: true,
        iceServers: [{ urls, username: "u", credential: "c" }],
      });
      expect(node.endpoint.nodeId).toBe(node.identity.nodeId);
    }
  });
});
