// The IndexedDB backend in Node on fake-indexeddb (fast runs; indexeddb.browser.test.ts runs the
// same suites on Chromium's real IndexedDB).
import "fake-indexeddb/auto";
import {
  describeLogStoreConformance,
  describePersistence,
  describeTopicStoreConformance,
  expectValidChain,
  makeChain,
  seededIdentity,
} from "@p2panda-web/testkit/log-store";
import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { openIndexedDbSyncStores } from "../src/index.ts";
import { describeAbortedTransaction } from "./aborted-transaction.ts";

let counter = 0;
const freshName = () => `log-store-${counter++}`;

describeLogStoreConformance("indexeddb (fake-indexeddb)", async () => {
  const stores = await openIndexedDbSyncStores(freshName());
  return { store: stores.logStore, close: () => stores.close() };
});
describeTopicStoreConformance("indexeddb (fake-indexeddb)", async () => {
  const stores = await openIndexedDbSyncStores(freshName());
  return { store: stores.topicStore, close: () => stores.close() };
});

const backend = {
  name: "indexeddb (fake-indexeddb)",
  freshName,
  open: (name: string) => openIndexedDbSyncStores(name),
};
describePersistence(backend);
describeAbortedTransaction(backend);

describe("indexeddb backend", () => {
  it("uses the IDBFactory it is given", async () => {
    const factory = new IDBFactory();
    const a = await seededIdentity(80);
    const stores = await openIndexedDbSyncStores("own-factory", { indexedDB: factory });
    await stores.logStore.putMany(await makeChain(a, 3));
    await stores.close();
    const names = (await factory.databases()).map((d) => d.name);
    expect(names).toEqual(["own-factory"]);
    const global = await openIndexedDbSyncStores("own-factory");
    expect(await expectValidChain(global.logStore, a.nodeId, 0)).toBe(0);
    await global.close();
  });

  it("fails with LogStoreError when there is no IndexedDB", async () => {
    const saved = globalThis.indexedDB;
    try {
      (globalThis as { indexedDB?: IDBFactory }).indexedDB = undefined;
      await expect(openIndexedDbSyncStores("none")).rejects.toMatchObject({ code: "LOG_STORE" });
    } finally {
      (globalThis as { indexedDB?: IDBFactory }).indexedDB = saved;
    }
  });

  it("closes itself when another connection deletes the database", async () => {
    const factory = new IDBFactory();
    const stores = await openIndexedDbSyncStores("deleted", { indexedDB: factory });
    await new Promise<void>((resolve, reject) => {
      const request = factory.deleteDatabase("deleted");
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
    });
    const a = await seededIdentity(81);
    await expect(stores.logStore.putMany(await makeChain(a, 1))).rejects.toMatchObject({
      code: "LOG_STORE_CLOSED",
    });
  });
});
