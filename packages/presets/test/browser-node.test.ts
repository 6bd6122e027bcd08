// The browser preset in Node: fake-indexeddb stands in for IndexedDB, and the browser endpoint
// runs in Node too (WebRTC from node-datachannel).
import "fake-indexeddb/auto";
import { Identity, Topic } from "@p2panda-web/core";
import { describe, expect, it } from "vitest";
import { createBrowserNode } from "../src/index.ts";

let counter = 0;

describe("createBrowserNode", () => {
  it("keeps the address book and the logs in the IndexedDB databases it was given", async () => {
    const identity = await Identity.generate();
    const storage = { addressBook: `book-${counter}`, logs: `logs-${counter++}` };
    const topic = Topic.fromName("presets: browser");
    const first = await createBrowserNode({ identity, storage, discovery: false });
    await first.addressBook.addTopic(identity.nodeId, topic);
    const published = await (await first.sync.stream(topic)).publish(new Uint8Array([7]));
    await first.stop();
    const names = (await indexedDB.databases()).map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining([storage.addressBook, storage.logs]));

    const again = await createBrowserNode({ identity, storage, discovery: false });
    expect(again.addressBook.nodeTopics(identity.nodeId).has(topic)).toBe(true);
    expect(await (await again.sync.stream(topic)).operations()).toEqual([published]);
    await again.stop();
  });

  it("forgets everything with memory storage", async () => {
    const before = (await indexedDB.databases()).length;
    const node = await createBrowserNode({ storage: "memory", discovery: false });
    await (await node.sync.stream(Topic.fromName("presets: gone"))).publish(new Uint8Array([1]));
    await node.stop();
    expect((await indexedDB.databases()).length).toBe(before);
  });

  it("keeps its node id across a reload when no identity is given (the key is stored)", async () => {
    const storage = { addressBook: `book-${counter}`, logs: `logs-${counter++}` };
    const first = await createBrowserNode({ storage, discovery: false });
    const nodeId = first.identity.nodeId;
    // While it runs, a second node on the same stores cannot take its key.
    const second = await createBrowserNode({ storage, discovery: false, sync: false });
    expect(second.identity.nodeId).not.toBe(nodeId);
    await second.stop();
    await first.stop();
    const again = await createBrowserNode({ storage, discovery: false });
    expect(again.identity.nodeId).toBe(nodeId);
    await again.stop();
    const other = await createBrowserNode({
      storage: { addressBook: `book-${counter}`, logs: `logs-${counter++}` },
      discovery: false,
    });
    expect(other.identity.nodeId).not.toBe(nodeId);
    await other.stop();
  });

  it("runs lifecycle recovery", async () => {
    const node = await createBrowserNode({ storage: "memory", discovery: false });
    expect(node.has("lifecycle")).toBe(true);
    expect(node.lifecycle.paused).toBe(false);
    await node.stop();
  });
});
