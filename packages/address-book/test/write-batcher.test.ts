import type { NodeId, Topic } from "@p2panda-web/core";
import { describe, expect, it } from "vitest";
import { type StoreWrite, WriteBatcher } from "../src/write-batcher.ts";

const id = (c: string) => c.repeat(64) as NodeId;
const topic = (c: string) => c.repeat(64) as Topic;
const put = (c: string, byte = 0): StoreWrite => ({
  kind: "putNode",
  id: id(c),
  bytes: new Uint8Array([byte]),
});

describe("WriteBatcher: group commit", () => {
  it("commits writes of one tick together, and later ones in the next batch", async () => {
    const batches: StoreWrite[][] = [];
    let release: () => void = () => {};
    const batcher = new WriteBatcher(async (writes) => {
      batches.push(writes);
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    const first = [batcher.write(put("a")), batcher.write(put("b"))];
    await Promise.resolve();
    await Promise.resolve();
    expect(batches).toHaveLength(1);
    // Queued while the first commit runs: they wait and go together.
    const second = [batcher.write(put("c")), batcher.write(put("d"))];
    expect(batches).toHaveLength(1);
    release();
    await Promise.all(first);
    await new Promise((r) => setTimeout(r, 0));
    expect(batches.map((b) => b.map((w) => w.id[0]))).toEqual([
      ["a", "b"],
      ["c", "d"],
    ]);
    release();
    await Promise.all(second);
  });

  it("keeps only the newest write per table and node, in order", async () => {
    const batches: StoreWrite[][] = [];
    const batcher = new WriteBatcher((writes) => {
      batches.push(writes);
    });
    await Promise.all([
      batcher.write(put("a", 1)),
      batcher.write({ kind: "putTopics", id: id("a"), topics: [topic("1")] }),
      batcher.write(put("b", 1)),
      batcher.write(put("a", 2)),
      batcher.write({ kind: "deleteNode", id: id("b") }),
    ]);
    expect(batches).toEqual([
      [
        { kind: "putTopics", id: id("a"), topics: [topic("1")] },
        put("a", 2),
        { kind: "deleteNode", id: id("b") },
      ],
    ]);
  });

  it("a delete drops earlier topic writes; a put after a delete still clears topics", async () => {
    const batches: StoreWrite[][] = [];
    const batcher = new WriteBatcher((writes) => {
      batches.push(writes);
    });
    await Promise.all([
      batcher.write({ kind: "putTopics", id: id("a"), topics: [topic("1")] }),
      batcher.write({ kind: "deleteNode", id: id("a") }),
      batcher.write(put("a", 3)),
    ]);
    expect(batches[0]).toEqual([{ kind: "putTopics", id: id("a"), topics: [] }, put("a", 3)]);
  });

  it("a failed commit rejects every write of its batch, and the next batch still runs", async () => {
    let fail = true;
    const batcher = new WriteBatcher(() => {
      if (fail) throw new Error("disk full");
    });
    const failed = [batcher.write(put("a")), batcher.write(put("b"))];
    await expect(failed[0]).rejects.toThrow("disk full");
    await expect(failed[1]).rejects.toThrow("disk full");
    fail = false;
    await expect(batcher.write(put("c"))).resolves.toBeUndefined();
  });

  it("close waits for queued writes and refuses new ones", async () => {
    const committed: string[] = [];
    const batcher = new WriteBatcher(async (writes) => {
      await new Promise((r) => setTimeout(r, 5));
      for (const w of writes) committed.push(w.id[0] as string);
    });
    const pending = batcher.write(put("a"));
    await batcher.close();
    expect(committed).toEqual(["a"]);
    await pending;
    await expect(batcher.write(put("b"))).rejects.toMatchObject({ code: "ADDRESS_BOOK_CLOSED" });
  });
});
