// Where the runtime has no IndexedDB (Node without fake-indexeddb here), joinTopic still runs:
// with an identity and stores that are not kept.
import { Topic } from "@p2panda-web/core";
import { describe, expect, it } from "vitest";
import { acquireStoredIdentity, joinTopic, memoryLocks } from "../src/index.ts";

describe("without IndexedDB", () => {
  it("hands out an identity that is not kept", async () => {
    expect(globalThis.indexedDB).toBeUndefined();
    const options = { namespace: "none", topic: Topic.fromName("none"), locks: memoryLocks() };
    const first = await acquireStoredIdentity(options);
    const second = await acquireStoredIdentity(options);
    expect(first.slot).toBeUndefined();
    expect(second.identity.nodeId).not.toBe(first.identity.nodeId);
  });

  it("joinTopic keeps its log in memory", async () => {
    const room = await joinTopic({ topic: "no indexeddb" });
    expect((await room.log.append("in memory")).text()).toBe("in memory");
    await room.leave();
  });
});
