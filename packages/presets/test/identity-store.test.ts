// The stored identities in Node: fake-indexeddb stands in for IndexedDB and realm locks for the
// Web Locks API (identity-store.browser.test.ts runs the same rules on Chromium's own).
import "fake-indexeddb/auto";
import { Topic } from "@p2panda-web/core";
import { describe, expect, it } from "vitest";
import {
  acquireStoredIdentity,
  memoryLocks,
  roomStoreNames,
  topicStorageKey,
} from "../src/index.ts";
import { describeIdentityStore } from "./identity-store-suite.ts";

describeIdentityStore(memoryLocks);

describe("store names", () => {
  const topic = Topic.fromName("names");
  const node = "ab".repeat(32) as Parameters<typeof roomStoreNames>[2];

  it("differ per namespace, per topic and per node id", () => {
    const base = roomStoreNames("app", topic, node);
    expect(roomStoreNames("other-app", topic, node).logs).not.toBe(base.logs);
    expect(roomStoreNames("app", Topic.fromName("names 2"), node).logs).not.toBe(base.logs);
    expect(roomStoreNames("app", topic, "cd".repeat(32) as typeof node).logs).not.toBe(base.logs);
    expect(base.addressBook).not.toBe(base.logs);
  });

  it("never contain the topic itself (it is a secret)", () => {
    const names = roomStoreNames("app", topic, node);
    expect(names.logs).not.toContain(topic);
    expect(names.logs).not.toContain(topic.slice(0, 16));
    expect(names.logs).toContain(topicStorageKey(topic));
  });
});

describe("acquireStoredIdentity with fake-indexeddb", () => {
  it("keeps a stored identity across database reopenings (a reload)", async () => {
    const locks = memoryLocks();
    const options = { namespace: "reload", topic: Topic.fromName("t"), locks };
    const first = await acquireStoredIdentity(options);
    await first.release();
    const again = await acquireStoredIdentity(options);
    expect(again.identity.nodeId).toBe(first.identity.nodeId);
    expect(again.identity.secretKey).toEqual(first.identity.secretKey);
    await again.release();
  });
});
