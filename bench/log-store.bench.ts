// Log store throughput: durable batched writes and paged range reads of one log on memory and
// SQLite (node:sqlite) in Node and on memory and IndexedDB in headless Chromium, plus catch-up
// between two nodes, each on its own persistent store.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteSyncStores } from "@p2panda-web/log-store/sqlite";
import { runInChromium } from "./browser.ts";
import {
  type CatchUpResult,
  type ChromiumResult,
  measureCatchUp,
  measureStore,
  memoryStores,
  operationCount,
  prepareOperations,
  READ_PAGE,
  type StoreResult,
  WRITE_BATCH,
} from "./log-store.browser.ts";

export async function run(options: {
  quick: boolean;
}): Promise<{ title: string; markdown: string }> {
  const n = operationCount(options.quick);
  const { author, ops } = await prepareOperations(n);
  const dir = mkdtempSync(join(tmpdir(), "p2panda-bench-log-store-"));
  let memory: StoreResult;
  let sqlite: StoreResult;
  let catchUpMemory: CatchUpResult;
  let catchUpSqlite: CatchUpResult;
  try {
    memory = await measureStore(author, ops, memoryStores());
    sqlite = await measureStore(author, ops, await openSqliteSyncStores(join(dir, "w.sqlite")));
    catchUpMemory = await measureCatchUp(author, ops, memoryStores(), memoryStores());
    catchUpSqlite = await measureCatchUp(
      author,
      ops,
      await openSqliteSyncStores(join(dir, "a.sqlite")),
      await openSqliteSyncStores(join(dir, "b.sqlite")),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  let chromium: ChromiumResult | undefined;
  let chromiumError = "";
  try {
    chromium = await runInChromium<ChromiumResult>("bench/log-store.browser.ts", {
      quick: options.quick,
    });
  } catch (error) {
    chromiumError = (error as Error).message.split("\n")[0] ?? "failed";
  }

  const fmt = (value: number | undefined) =>
    value === undefined ? "—" : Math.round(value).toLocaleString("en-US");
  const count = n.toLocaleString("en-US");
  const markdown = [
    "| Operation | memory (Node) | SQLite (Node, WAL, synchronous=FULL) | memory (Chromium) | IndexedDB (Chromium, strict) |",
    "|---|---:|---:|---:|---:|",
    `| \`putMany\`, batches of ${WRITE_BATCH}, each awaited (ops/s) | ${fmt(memory.writeOpsPerSecond)} | ${fmt(sqlite.writeOpsPerSecond)} | ${fmt(chromium?.memory.writeOpsPerSecond)} | ${fmt(chromium?.indexedDb.writeOpsPerSecond)} |`,
    `| \`range\`, pages of ${READ_PAGE} (ops/s) | ${fmt(memory.readOpsPerSecond)} | ${fmt(sqlite.readOpsPerSecond)} | ${fmt(chromium?.memory.readOpsPerSecond)} | ${fmt(chromium?.indexedDb.readOpsPerSecond)} |`,
    `| catch-up between two nodes, each on its own store (ops/s) | ${fmt(catchUpMemory.opsPerSecond)} | ${fmt(catchUpSqlite.opsPerSecond)} | ${fmt(chromium?.catchUpMemory.opsPerSecond)} | ${fmt(chromium?.catchUpIndexedDb.opsPerSecond)} |`,
    "",
    `${count} operations of one log (100-byte payloads, ~${Math.round(ops.reduce((s, o) => s + o.headerBytes.length + (o.body?.length ?? 0), 0) / n)} bytes of header + body each), signed before timing. Writes: an empty store takes them in sequential \`putMany\` calls of ${WRITE_BATCH}, each awaited until durable (one transaction, i.e. one fsync, per batch; SQLite in WAL mode with \`synchronous = FULL\`, IndexedDB with \`durability: "strict"\`), gap and fork checks inside the transaction. Reads: the whole log back through \`range\` in pages of ${READ_PAGE}, as a sending session reads it (each operation's header is decoded again).`,
    "",
    `Catch-up: two nodes in one process (Chromium: one page, each node on its own IndexedDB database) run a full \`SyncSession\` pair over \`memoryChannelPair\` (real framing and strict CBOR): the writer, filled before timing, streams the log from its store; the reader validates every operation (Ed25519 signatures via WebCrypto, 32 at a time in parallel, with a turn of the event loop between) and stores it with \`putMany\` batches of 128. ops/s = ${count} / wall time until both sessions end, store writes included. The memory columns show the same work without persistence.`,
    chromium === undefined
      ? `\nChromium run failed: ${chromiumError}`
      : `\nChromium: ${chromium.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? chromium.userAgent}.`,
  ].join("\n");
  return { title: "Log store", markdown };
}
