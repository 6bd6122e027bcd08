// joinTopic in Node: fake-indexeddb stands in for IndexedDB, realm locks for Web Locks, and the
// browser endpoint runs without a bootstrap (the network part is e2e/join-topic.spec.ts).
import "fake-indexeddb/auto";
import { InvalidInputError, Topic, TopicSecret } from "@p2panda-web/core";
import { describe, expect, it } from "vitest";
import { joinTopic, memoryLocks, roomStoreNames } from "../src/index.ts";

let run = 0;
const names = async () => new Set((await indexedDB.databases()).map((d) => d.name));

describe("joinTopic", () => {
  it("keeps the node id and the log across a leave and a new join (a reload)", async () => {
    const options = {
      topic: "join: reload",
      namespace: `reload-${run++}`,
      locks: memoryLocks(),
      tabs: "per-tab",
    } as const;
    const first = await joinTopic(options);
    await first.log.append("kept");
    const nodeId = first.node.identity.nodeId;
    await first.leave();
    expect(first.node.state).toBe("stopped");

    const again = await joinTopic(options);
    expect(again.node.identity.nodeId).toBe(nodeId);
    expect((await again.log.history()).map((e) => e.text())).toEqual(["kept"]);
    await again.leave();
  });

  it("per tab: gives a second join of the same topic at the same time (a second tab) its own identity and stores", async () => {
    const namespace = `tabs-${run++}`;
    const options = {
      topic: "join: tabs",
      namespace,
      locks: memoryLocks(),
      tabs: "per-tab",
    } as const;
    const a = await joinTopic(options);
    const b = await joinTopic(options);
    expect(b.node.identity.nodeId).not.toBe(a.node.identity.nodeId);
    await a.log.append("only in a");
    // B's log store is its own: A's entry reaches it only by sync, never by a shared database.
    expect(await b.log.history()).toEqual([]);
    const topic = Topic.fromName("join: tabs");
    const dbs = await names();
    for (const room of [a, b]) {
      const stores = roomStoreNames(namespace, topic, room.node.identity.nodeId);
      expect(dbs.has(stores.logs)).toBe(true);
      expect(dbs.has(stores.addressBook)).toBe(true);
    }
    await Promise.all([a.leave(), b.leave()]);
  });

  it("accepts a Topic as well as a name, and a name becomes Topic.fromName(name)", async () => {
    // The room runs on the id derived from the topic (its secret), as encryption is on.
    const topic = Topic.random();
    const byTopic = await joinTopic({ topic, identity: "ephemeral" });
    expect(byTopic.topic).toBe(TopicSecret.fromTopic(topic).topic);
    const byName = await joinTopic({ topic: "join: name", identity: "ephemeral" });
    expect(byName.topic).toBe(TopicSecret.fromTopic(Topic.fromName("join: name")).topic);
    const plain = await joinTopic({ topic, identity: "ephemeral", encryption: false });
    expect(plain.topic).toBe(topic);
    await plain.leave();
    await Promise.all([byTopic.leave(), byName.leave()]);
  });

  it("keeps nothing with an ephemeral identity", async () => {
    const before = await names();
    const room = await joinTopic({ topic: "join: ephemeral", identity: "ephemeral" });
    await room.log.append("gone");
    await room.leave();
    expect(await names()).toEqual(before);
  });

  it("joins on a node of yours and leaves it running", async () => {
    const owner = await joinTopic({ topic: "join: owner", identity: "ephemeral", tabs: "per-tab" });
    const guest = await joinTopic({ topic: "join: guest", node: owner.node });
    expect(guest.node).toBe(owner.node);
    await guest.leave();
    expect(owner.node.state).toBe("running");
    await owner.leave();
  });

  it("refuses an empty topic with INVALID_INPUT", async () => {
    const error = await joinTopic({ topic: "" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ code: "INVALID_INPUT" });
  });
});
