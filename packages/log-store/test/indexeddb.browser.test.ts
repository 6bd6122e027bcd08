// The IndexedDB backend on Chromium's real IndexedDB: core's conformance suites, the
// persistence suite and aborted transactions. Never imports node:sqlite.

import {
  describeLogStoreConformance,
  describePersistence,
  describeTopicStoreConformance,
} from "@p2panda-web/testkit/log-store";
import { describe, expect, it } from "vitest";
import { openIndexedDbSyncStores, requestPersistentStorage } from "../src/index.ts";
import { describeAbortedTransaction } from "./aborted-transaction.ts";

const run = Math.random().toString(36).slice(2);
let counter = 0;
const freshName = () => `log-store-${run}-${counter++}`;

describeLogStoreConformance("indexeddb (Chromium)", async () => {
  const stores = await openIndexedDbSyncStores(freshName());
  return { store: stores.logStore, close: () => stores.close() };
});
describeTopicStoreConformance("indexeddb (Chromium)", async () => {
  const stores = await openIndexedDbSyncStores(freshName());
  return { store: stores.topicStore, close: () => stores.close() };
});

const backend = {
  name: "indexeddb (Chromium)",
  freshName,
  open: (name: string) => openIndexedDbSyncStores(name),
};
describePersistence(backend);
describeAbortedTransaction(backend);

describe("indexeddb in Chromium", () => {
  it("is the browser's own IndexedDB", () => {
    expect(globalThis.indexedDB).toBeDefined();
    expect(navigator.userAgent).toMatch(/Chrome/);
  });

  it("requestPersistentStorage answers with a boolean and never throws", async () => {
    expect(typeof (await requestPersistentStorage())).toBe("boolean");
  });
});
