// Address book throughput: untrusted and trusted inserts, topic queries and reopening, on the
// memory store and SQLite (node:sqlite) in Node, and IndexedDB in headless Chromium.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryAddressBookStore } from "@p2panda-web/address-book";
import { sqliteAddressBookStore } from "@p2panda-web/address-book/sqlite";
import {
  measure,
  OPERATIONS,
  prepareNodes,
  sizes,
  type WorkloadResult,
} from "./address-book.browser.ts";
import { runInChromium } from "./browser.ts";

export async function run(options: {
  quick: boolean;
}): Promise<{ title: string; markdown: string }> {
  const { counts, sequential, queries } = sizes(options.quick);
  const memory: WorkloadResult[] = [];
  const sqlite: WorkloadResult[] = [];
  const dir = mkdtempSync(join(tmpdir(), "p2panda-bench-address-book-"));
  try {
    for (const n of counts) {
      const prepared = await prepareNodes(n);
      // The memory store forgets on close: "reopen" hands the same instance's contents back by
      // keeping one store object alive across the reopen.
      const mem = memoryAddressBookStore();
      const memoryReopen = memoryReopenable(mem);
      memory.push(
        await measure(prepared, async () => memoryReopen.store, memoryReopen.reopen, {
          sequential,
          queries,
        }),
      );
      const path = join(dir, `book-${n}.sqlite`);
      sqlite.push(
        await measure(
          prepared,
          () => sqliteAddressBookStore(path),
          () => sqliteAddressBookStore(path),
          { sequential, queries },
        ),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  let chromium: WorkloadResult[] | undefined;
  let chromiumError = "";
  try {
    chromium = await runInChromium<WorkloadResult[]>("bench/address-book.browser.ts", {
      quick: options.quick,
    });
  } catch (error) {
    chromiumError = (error as Error).message.split("\n")[0] ?? "failed";
  }

  const fmt = (value: number | undefined) =>
    value === undefined ? "—" : value.toLocaleString("en-US");
  const lines = [
    "| Operation | Nodes | memory (Node) | SQLite (Node, WAL, synchronous=FULL) | IndexedDB (Chromium, strict) |",
    "|---|---:|---:|---:|---:|",
  ];
  for (const [i, n] of counts.entries()) {
    for (const label of Object.values(OPERATIONS)) {
      lines.push(
        `| ${label} | ${n.toLocaleString("en-US")} | ${fmt(memory[i]?.results[label])} | ${fmt(sqlite[i]?.results[label])} | ${fmt(chromium?.[i]?.results[label])} |`,
      );
    }
  }
  const markdown = [
    ...lines,
    "",
    `Each column fills a fresh address book with N nodes through the untrusted path (real Ed25519 signatures, made before timing; verification included), overwrites them through the trusted path (trusted transport infos, so no verification), writes ${sequential} records one at a time (each awaited until durable: one commit, i.e. one fsync, each), gives every node 4 of 100 topics, runs ${queries.toLocaleString("en-US")} \`nodeInfosByTopics\` queries of 3 topics (each returns about 11 % of the nodes, so the rate falls with N), then closes and reopens the book.`,
    "",
    "Reads are served from memory for every backend, so query speed does not depend on the store. Writes issued while a commit is running are group-committed in one transaction, so concurrent inserts are bounded by signature verification (untrusted) or by the backend's commit rate divided by the batch size; one-at-a-time durable writes show each backend's commit latency.",
    chromium === undefined ? `\nChromium run failed: ${chromiumError}` : "",
  ].join("\n");
  return { title: "Address book", markdown };
}

/** A memory store whose contents survive `close` for the benchmark's reopen step. */
function memoryReopenable(first: ReturnType<typeof memoryAddressBookStore>) {
  let snapshot: Awaited<ReturnType<typeof first.load>> | undefined;
  const store: typeof first = {
    ...first,
    kind: first.kind,
    load: () => first.load(),
    putNode: (i) => first.putNode(i),
    deleteNode: (id) => first.deleteNode(id),
    putTopics: (id, t) => first.putTopics(id, t),
    async close() {
      snapshot = await first.load();
      await first.close();
    },
  };
  return {
    store,
    async reopen() {
      const fresh = memoryAddressBookStore();
      for (const info of snapshot?.nodes ?? []) await fresh.putNode(info);
      for (const [id, topics] of snapshot?.topics ?? []) await fresh.putTopics(id, topics);
      return fresh;
    },
  };
}
