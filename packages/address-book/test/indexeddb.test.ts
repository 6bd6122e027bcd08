// IndexedDB backend in Node, on fake-indexeddb (fast unit runs; real Chromium runs
// indexeddb.browser.test.ts with the same suite).
import "fake-indexeddb/auto";
import { createNodeInfo, Identity } from "@p2panda-web/core";
import { describeAddressBookConformance } from "@p2panda-web/testkit/address-book";
import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import {
  AddressBook,
  type AddressBookStore,
  indexedDbAddressBookStore,
  requestPersistentStorage,
} from "../src/index.ts";

const names = new WeakMap<AddressBookStore, string>();
let counter = 0;

describeAddressBookConformance(
  "indexeddb (fake-indexeddb)",
  async () => {
    const name = `address-book-${counter++}`;
    const store = await indexedDbAddressBookStore(name);
    names.set(store, name);
    return store;
  },
  async (closed) => {
    const name = names.get(closed);
    if (name === undefined) throw new Error("not a store from makeStore");
    const store = await indexedDbAddressBookStore(name);
    names.set(store, name);
    return store;
  },
);

describe("indexeddb backend", () => {
  it("uses the IDBFactory it is given", async () => {
    const factory = new IDBFactory();
    const id = (await Identity.generate()).nodeId;
    const store = await indexedDbAddressBookStore("own-factory", { indexedDB: factory });
    await store.putNode(createNodeInfo(id));
    await store.close();
    // The global factory never saw that database.
    const global = await indexedDbAddressBookStore("own-factory");
    expect((await global.load()).nodes).toHaveLength(0);
    await global.close();
    const again = await indexedDbAddressBookStore("own-factory", { indexedDB: factory });
    expect((await again.load()).nodes.map((n) => n.nodeId)).toEqual([id]);
    await again.close();
  });

  it("skips entries it cannot decode", async () => {
    const factory = new IDBFactory();
    const id = (await Identity.generate()).nodeId;
    const store = await indexedDbAddressBookStore("corrupt", { indexedDB: factory });
    await store.putNode(createNodeInfo(id));
    await store.close();
    await new Promise<void>((resolve, reject) => {
      const request = factory.open("corrupt");
      request.onerror = () => reject(request.error);
      request.onsuccess = () => {
        const db = request.result;
        const tx = db.transaction(["nodes", "topics"], "readwrite");
        tx.objectStore("nodes").put(new Uint8Array([0xff]), "cd".repeat(32));
        tx.objectStore("nodes").put("a string", "ef".repeat(32));
        tx.objectStore("topics").put(["bad"], id);
        tx.oncomplete = () => {
          db.close();
          resolve();
        };
      };
    });
    const book = await AddressBook.open(
      await indexedDbAddressBookStore("corrupt", { indexedDB: factory }),
    );
    expect(book.allNodeInfos().map((n) => n.nodeId)).toEqual([id]);
    expect(book.metrics.corruptRecordsSkipped).toBe(3);
    await book.close();
  });

  it("fails with a typed error where there is no IndexedDB", async () => {
    const saved = globalThis.indexedDB;
    Reflect.deleteProperty(globalThis, "indexedDB");
    try {
      await expect(indexedDbAddressBookStore("x")).rejects.toMatchObject({
        code: "ADDRESS_BOOK_STORE",
      });
    } finally {
      globalThis.indexedDB = saved;
    }
  });

  it("requestPersistentStorage is false where there is no StorageManager", async () => {
    expect(await requestPersistentStorage()).toBe(false);
  });
});
