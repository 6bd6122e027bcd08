import { existsSync } from "node:fs";
import { join } from "node:path";
import { Identity, Topic } from "@p2panda-web/core";
import { describe, expect, it } from "vitest";
import {
  ADDRESS_BOOK_FILE,
  createNodeJsNode,
  LOG_STORE_FILE,
  WEBRTC_DIRECT_CERTIFICATE_FILE,
} from "../src/node/index.ts";
import { LOOPBACK, tempDirPerTest } from "./node-fixtures.ts";

const tempDir = tempDirPerTest("p2panda-presets-");

describe("createNodeJsNode", () => {
  it("keeps the address book and the logs in SQLite files of its data dir, across restarts", async () => {
    const identity = await Identity.generate();
    const dataDir = join(tempDir(), "node");
    const topic = Topic.fromName("presets: node");
    const first = await createNodeJsNode({ identity, dataDir, endpoint: LOOPBACK });
    expect(first.state).toBe("running");
    expect(first.endpoint.listenAddresses().some((a) => a.includes("/ws"))).toBe(true);
    await first.addressBook.addTopic(identity.nodeId, topic);
    const published = await (await first.sync.stream(topic)).publish(new Uint8Array([1, 2, 3]));
    await first.stop();
    expect(existsSync(join(dataDir, ADDRESS_BOOK_FILE))).toBe(true);
    expect(existsSync(join(dataDir, LOG_STORE_FILE))).toBe(true);

    const again = await createNodeJsNode({ identity, dataDir, endpoint: LOOPBACK });
    expect(again.addressBook.nodeTopics(identity.nodeId).has(topic)).toBe(true);
    expect(await (await again.sync.stream(topic)).operations()).toEqual([published]);
    await again.stop();
  });

  it("keeps everything in memory without a data dir", async () => {
    const topic = Topic.fromName("presets: memory");
    const node = await createNodeJsNode({ endpoint: LOOPBACK, discovery: false });
    const chat = await node.sync.stream(topic);
    await chat.publish(new Uint8Array([4]));
    expect(await chat.operations()).toHaveLength(1);
    await node.stop();
    expect(node.has("discovery")).toBe(false);
  });

  it("runs without sync when asked, and opens no log file then", async () => {
    const dataDir = join(tempDir(), "bootstrap");
    const node = await createNodeJsNode({
      dataDir,
      endpoint: LOOPBACK,
      gossip: false,
      sync: false,
    });
    expect(node.has("sync")).toBe(false);
    await node.stop();
    expect(existsSync(join(dataDir, ADDRESS_BOOK_FILE))).toBe(true);
    expect(existsSync(join(dataDir, LOG_STORE_FILE))).toBe(false);
  });

  it("advertises the same WebRTC-direct /certhash/ on every start with one data dir", async () => {
    const identity = await Identity.generate();
    const dataDir = join(tempDir(), "bootstrap");
    const endpoint = { ...LOOPBACK, webrtcDirectPort: 0 };
    const certhashes = async (dataDir?: string) => {
      const node = await createNodeJsNode({ identity, dataDir, endpoint, discovery: false });
      const hashes = node.endpoint
        .listenAddresses()
        .filter((a) => a.includes("/webrtc-direct/"))
        .map((a) => /\/certhash\/([^/]+)/.exec(a)?.[1]);
      await node.stop();
      expect(hashes).toHaveLength(1);
      return hashes[0];
    };
    const first = await certhashes(dataDir);
    expect(existsSync(join(dataDir, WEBRTC_DIRECT_CERTIFICATE_FILE))).toBe(true);
    expect(await certhashes(dataDir)).toBe(first);
    // Without a data dir the certificate, and with it the address, is new on every start.
    expect(await certhashes()).not.toBe(first);
  });

  it("is dialled over WebRTC-direct with its kept certificate after a restart", async () => {
    const identity = await Identity.generate();
    const dataDir = join(tempDir(), "bootstrap");
    const endpoint = { ...LOOPBACK, wsPort: false, webrtcDirectPort: 0 } as const;
    await (await createNodeJsNode({ identity, dataDir, endpoint, discovery: false })).stop();
    const server = await createNodeJsNode({ identity, dataDir, endpoint, discovery: false });
    const client = await createNodeJsNode({
      discovery: false,
      endpoint: {
        ...endpoint,
        webrtcDirectPort: false,
        bootstrap: server.endpoint.listenAddresses().filter((a) => a.includes("/webrtc-direct/")),
      },
    });
    try {
      await expect
        .poll(
          () =>
            client.endpoint
              .connections()
              .filter((c) => c.remote === identity.nodeId)
              .map((c) => c.transport),
          { timeout: 10_000 },
        )
        .toEqual(["webrtc-direct"]);
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});
