// The conformance suite on Chromium's real IndexedDB.

import { describeAddressBookConformance } from "@p2panda-web/testkit/address-book";
import { describe, expect, it } from "vitest";
import {
  type AddressBookStore,
  indexedDbAddressBookStore,
  requestPersistentStorage,
} from "../src/index.ts";

const run = Math.random().toString(36).slice(2);
const names = new WeakMap<AddressBookStore, string>();
let counter = 0;

describeAddressBookConformance(
  "indexeddb (Chromium)",
  async () => {
    const name = `address-book-${run}-${counter++}`;
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

describe("indexeddb in Chromium", () => {
  it("is the browser's own IndexedDB", () => {
    expect(globalThis.indexedDB).toBeDefined();
    expect(navigator.userAgent).toMatch(/Chrome/);
  });
});

describe("requestPersistentStorage", () => {
  it("answers with a boolean and never throws", async () => {
    expect(typeof (await requestPersistentStorage())).toBe("boolean");
  });
});
