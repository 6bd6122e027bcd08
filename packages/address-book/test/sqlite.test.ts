import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { createNodeInfo, Identity } from "@p2panda-web/core";
import { describeAddressBookConformance } from "@p2panda-web/testkit/address-book";
import { afterAll, describe, expect, it } from "vitest";
import { AddressBook, type AddressBookStore } from "../src/index.ts";
import { sqliteAddressBookStore } from "../src/sqlite/index.ts";

const dir = mkdtempSync(join(tmpdir(), "p2panda-address-book-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const paths = new WeakMap<AddressBookStore, string>();
let counter = 0;

describeAddressBookConformance(
  "sqlite",
  async () => {
    const path = join(dir, `book-${counter++}.sqlite`);
    const store = await sqliteAddressBookStore(path);
    paths.set(store, path);
    return store;
  },
  async (closed) => {
    const path = paths.get(closed);
    if (path === undefined) throw new Error("not a store from makeStore");
    const store = await sqliteAddressBookStore(path);
    paths.set(store, path);
    return store;
  },
);

describe("sqlite backend", () => {
  it("runs in WAL mode and skips rows it cannot decode", async () => {
    const path = join(dir, "corrupt.sqlite");
    const id = (await Identity.generate()).nodeId;
    const store = await sqliteAddressBookStore(path);
    await store.putNode(createNodeInfo(id, { bootstrap: true }));
    await store.close();

    const raw = new DatabaseSync(path);
    expect(raw.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    raw
      .prepare("INSERT INTO nodes (node_id, info) VALUES (?, ?)")
      .run("ab".repeat(32), new Uint8Array([0xff, 1, 2]));
    raw.prepare("INSERT INTO node_topics (node_id, topic) VALUES (?, ?)").run(id, "not a topic");
    raw.close();

    const book = await AddressBook.open(await sqliteAddressBookStore(path));
    expect(book.allNodeInfos().map((n) => n.nodeId)).toEqual([id]);
    expect(book.metrics.corruptRecordsSkipped).toBe(2);
    await book.close();
  });

  it("refuses a database with a newer schema", async () => {
    const path = join(dir, "newer.sqlite");
    const raw = new DatabaseSync(path);
    raw.exec("PRAGMA user_version = 99");
    raw.close();
    await expect(sqliteAddressBookStore(path)).rejects.toMatchObject({
      code: "ADDRESS_BOOK_STORE",
    });
  });

  it("works on :memory:", async () => {
    const store = await sqliteAddressBookStore(":memory:");
    const id = (await Identity.generate()).nodeId;
    await store.putNode(createNodeInfo(id));
    expect((await store.load()).nodes).toHaveLength(1);
    await store.close();
  });
});
