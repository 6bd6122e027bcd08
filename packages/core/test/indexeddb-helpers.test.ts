// The two promise helpers the IndexedDB stores use instead of a wrapper library (the stores'
// own suites in address-book and log-store run them through every read and write).
import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import {
  idbResult,
  idbTransactionDone,
  openIndexedDb,
  resumeIdbTransactions,
  suspendIdbTransactions,
} from "../src/storage/indexeddb.ts";
import { failOnUnhandledRejections } from "./unhandled-rejections.ts";

failOnUnhandledRejections();

const open = () => openIndexedDb("helpers", 1, ["s"], new IDBFactory());

describe("idbResult and idbTransactionDone", () => {
  it("a request resolves with its result, and the transaction's end with its commit", async () => {
    const db = await open();
    const write = db.transaction(["s"], "readwrite");
    const written = idbTransactionDone(write);
    expect(await idbResult(write.objectStore("s").put("value", "key"))).toBe("key");
    await written;
    const read = db.transaction(["s"], "readonly");
    const done = idbTransactionDone(read);
    expect(await idbResult(read.objectStore("s").get("key"))).toBe("value");
    // The transaction may well have committed by now: its end was taken at creation.
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(done).resolves.toBeUndefined();
    db.close();
  });

  it("a failed request rejects with its error and so does the transaction's end", async () => {
    const db = await open();
    const first = db.transaction(["s"], "readwrite");
    first.objectStore("s").add(1, "taken");
    await idbTransactionDone(first);
    const tx = db.transaction(["s"], "readwrite");
    const done = idbTransactionDone(tx);
    await expect(idbResult(tx.objectStore("s").add(2, "taken"))).rejects.toMatchObject({
      name: "ConstraintError",
    });
    await expect(done).rejects.toMatchObject({ name: "ConstraintError" });
    db.close();
  });

  it("an aborted transaction nobody waits for leaves no unhandled rejection", async () => {
    const db = await open();
    const tx = db.transaction(["s"], "readwrite");
    const done = idbTransactionDone(tx);
    tx.abort();
    // Not awaited until the abort has long been delivered: failOnUnhandledRejections checks.
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(done).rejects.toMatchObject({ name: "AbortError" });
    db.close();
  });
});

describe("suspendIdbTransactions", () => {
  it("aborts the running transactions (their writes are not stored) and new ones until resumed", async () => {
    const db = await open();
    const ended = db.transaction(["s"], "readwrite");
    ended.objectStore("s").put("kept", "before");
    await idbTransactionDone(ended);
    const running = db.transaction(["s"], "readwrite");
    const done = idbTransactionDone(running);
    running.objectStore("s").put("lost", "during");
    try {
      // A frozen page's transaction would stay open until its resume: aborted, it ends now.
      expect(suspendIdbTransactions()).toBe(1);
      await expect(done).rejects.toMatchObject({ name: "AbortError" });
      // One started after (a node flushing as it stops) is aborted too.
      const late = db.transaction(["s"], "readwrite");
      const lateDone = idbTransactionDone(late);
      await expect(lateDone).rejects.toMatchObject({ name: "AbortError" });
      expect(suspendIdbTransactions()).toBe(0);
    } finally {
      resumeIdbTransactions();
    }
    const read = db.transaction(["s"], "readonly");
    const readDone = idbTransactionDone(read);
    expect(await idbResult(read.objectStore("s").get("before"))).toBe("kept");
    expect(await idbResult(read.objectStore("s").get("during"))).toBeUndefined();
    await expect(readDone).resolves.toBeUndefined();
    db.close();
  });
});
