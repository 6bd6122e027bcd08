// The SQLite backend (node:sqlite) on temporary files: core's conformance suites, the
// persistence suite, and a writer process killed mid-sync.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import {
  describeLogStoreConformance,
  describePersistence,
  describeTopicStoreConformance,
  expectValidChain,
  makeChain,
  seededIdentity,
} from "@p2panda-web/testkit/log-store";
import { afterAll, describe, expect, it } from "vitest";
import { openSqliteSyncStores, SQLITE_SCHEMA_VERSION } from "../src/sqlite/index.ts";

const dir = mkdtempSync(join(tmpdir(), "p2panda-log-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const freshPath = () => join(dir, `store-${counter++}.sqlite`);

describeLogStoreConformance("sqlite", async () => {
  const stores = await openSqliteSyncStores(freshPath());
  return { store: stores.logStore, close: () => stores.close() };
});
describeTopicStoreConformance("sqlite", async () => {
  const stores = await openSqliteSyncStores(freshPath());
  return { store: stores.topicStore, close: () => stores.close() };
});
describeLogStoreConformance("sqlite :memory:", async () => {
  const stores = await openSqliteSyncStores(":memory:");
  return { store: stores.logStore, close: () => stores.close() };
});

describePersistence({ name: "sqlite", freshName: freshPath, open: openSqliteSyncStores });

describe("sqlite backend", () => {
  it("runs in WAL mode with synchronous = FULL and records its schema version", async () => {
    const path = freshPath();
    const stores = await openSqliteSyncStores(path);
    await stores.close();
    const raw = new DatabaseSync(path);
    expect(raw.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
    expect(raw.prepare("PRAGMA user_version").get()).toEqual({
      user_version: SQLITE_SCHEMA_VERSION,
    });
    raw.close();
  });

  it("refuses a database with a newer schema", async () => {
    const path = freshPath();
    const raw = new DatabaseSync(path);
    raw.exec("PRAGMA user_version = 99");
    raw.close();
    await expect(openSqliteSyncStores(path)).rejects.toMatchObject({ code: "LOG_STORE" });
  });

  it("rolls a batch back when the disk fails mid-batch", async () => {
    const path = freshPath();
    const a = await seededIdentity(60);
    const chain = await makeChain(a, 10);
    const stores = await openSqliteSyncStores(path);
    await stores.logStore.putMany(chain.slice(0, 3));
    // A trigger makes the 4th insert of the next batch fail inside the transaction, after three
    // rows were written: like an I/O error halfway through.
    const raw = new DatabaseSync(path);
    raw.exec(`CREATE TRIGGER fail_at_6 BEFORE INSERT ON operations WHEN NEW.seq_num = 6
      BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`);
    raw.close();
    await expect(stores.logStore.putMany(chain.slice(3))).rejects.toMatchObject({
      code: "LOG_STORE",
    });
    expect(await expectValidChain(stores.logStore, a.nodeId, 0)).toBe(3);
    await stores.close();
    const reopened = await openSqliteSyncStores(path);
    expect(await expectValidChain(reopened.logStore, a.nodeId, 0)).toBe(3);
    await reopened.close();
  });

  it("(c) a writer process killed (SIGKILL) while a sync session writes leaves only valid chains", async () => {
    const path = freshPath();
    const script = fileURLToPath(new URL("./fixtures/sqlite-sync-writer.ts", import.meta.url));
    const child = spawn(process.execPath, ["--conditions=source", script, path], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const killedAt = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`writer made no progress: ${stderr}`));
      }, 20_000);
      let buffer = "";
      child.stdout.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        const stored = Number([...buffer.matchAll(/stored (\d+)\n/g)].at(-1)?.[1] ?? 0);
        if (stored >= 600) {
          clearTimeout(timer);
          child.kill("SIGKILL");
          resolve(stored);
        }
      });
      child.on("exit", () => {
        clearTimeout(timer);
        reject(new Error(`writer exited before being killed: ${stderr}`));
      });
    });
    await new Promise((resolve) => child.once("exit", resolve));
    expect(child.signalCode).toBe("SIGKILL");
    const stores = await openSqliteSyncStores(path);
    const author = (await seededIdentity(70)).nodeId;
    let total = 0;
    for (const logId of [0, 1, 2]) total += await expectValidChain(stores.logStore, author, logId);
    // Every batch the writer reported was durable; it was killed before the end.
    expect(total).toBeGreaterThanOrEqual(killedAt);
    expect(total).toBeLessThan(3 * 1_000);
    await stores.close();
  });
});
