import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Identity, Topic } from "@p2panda-web/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ADDRESS_BOOK_FILE, createNodeJsNode, LOG_STORE_FILE } from "../src/node/index.ts";

/** A Node endpoint on loopback WebSockets only. */
const LOOPBACK = {
  allowPrivateAddresses: true,
  tcpPort: false,
  webrtcDirectPort: false,
  relay: false,
} as const;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "p2panda-presets-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("createNodeJsNode", () => {
  it("keeps the address book and the logs in SQLite files of its data dir, across restarts", async () => {
    const identity = await Identity.generate();
    const dataDir = join(dir, "node");
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
    const dataDir = join(dir, "bootstrap");
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
});
