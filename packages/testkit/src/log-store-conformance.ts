/**
 * The acceptance suite every `LogStore` and `TopicStore` backend must pass (core's memory stores,
 * the IndexedDB and SQLite stores of `@p2panda-web/log-store`, yours). Call
 * `describeLogStoreConformance` / `describeTopicStoreConformance` from a backend's test file with
 * a factory for a fresh, empty store.
 * @module
 */
import { type Identity, type NodeId, Topic } from "@p2panda-web/core";
import {
  createOperation,
  LogForkError,
  LogGapError,
  type LogStore,
  type Operation,
  type TopicStore,
} from "@p2panda-web/core/sync";
import { describe, expect, it } from "vitest";
import { seededIdentity } from "./identities.ts";

/** A fresh store and how to dispose of it. */
export interface StoreFixture<S> {
  /** A fresh, empty store. */
  readonly store: S;
  /** Closes the store after the test, if it needs closing. */
  readonly close?: () => Promise<void>;
}

async function chain(
  identity: Identity,
  length: number,
  logId: number | string = 0,
  tag = "",
): Promise<Operation[]> {
  const ops: Operation[] = [];
  for (let i = 0; i < length; i++) {
    const prev = ops[i - 1];
    ops.push(
      await createOperation(identity, {
        payload: new TextEncoder().encode(`${tag}op ${i}`),
        logId,
        seqNum: i,
        ...(prev !== undefined ? { backlink: prev.hash } : {}),
        timestamp: 1_000 + i,
      }),
    );
  }
  return ops;
}

const seqs = (ops: readonly Operation[]) => ops.map((o) => o.header.seqNum);

/**
 * Registers the conformance suite of a {@link LogStore} backend (one Vitest `describe`).
 * @param name - names the backend in the test titles.
 * @param open - gives each test a fresh, empty store (and how to close it).
 */
export function describeLogStoreConformance(
  name: string,
  open: () => Promise<StoreFixture<LogStore>>,
): void {
  describe(`LogStore conformance: ${name}`, () => {
    const withStore = async (fn: (store: LogStore, a: Identity, b: Identity) => Promise<void>) => {
      const fixture = await open();
      try {
        await fn(fixture.store, await seededIdentity(21), await seededIdentity(22));
      } finally {
        await fixture.close?.();
      }
    };

    it("stores logs per (author, log id) and reports heights of the requested logs", () =>
      withStore(async (store, a, b) => {
        const a0 = await chain(a, 3, 0);
        const a1 = await chain(a, 2, "x");
        const b0 = await chain(b, 1, 0);
        const result = await store.putMany([...a0, ...a1, ...b0]);
        expect(result.inserted).toHaveLength(6);
        expect(result.duplicates).toBe(0);
        const heights = await store.heights(
          new Map<NodeId, (number | string)[]>([
            [a.nodeId, [0, "x", "missing"]],
            [b.nodeId, [0]],
          ]),
        );
        expect(heights).toHaveLength(3);
        expect(heights).toContainEqual({ author: a.nodeId, logId: 0, seqNum: 2 });
        expect(heights).toContainEqual({ author: a.nodeId, logId: "x", seqNum: 1 });
        expect(heights).toContainEqual({ author: b.nodeId, logId: 0, seqNum: 0 });
        expect((await store.latest(a.nodeId, 0))?.hash).toEqual(a0[2]?.hash);
        expect((await store.get(a.nodeId, "x", 0))?.hash).toEqual(a1[0]?.hash);
        expect(await store.get(a.nodeId, 0, 3)).toBeUndefined();
        expect(await store.latest(b.nodeId, "x")).toBeUndefined();
      }));

    it("keeps header bytes and body exactly", () =>
      withStore(async (store, a) => {
        const [op] = await chain(a, 1);
        await store.putMany([op as Operation]);
        const got = (await store.get(a.nodeId, 0, 0)) as Operation;
        expect(got.headerBytes).toEqual(op?.headerBytes);
        expect(got.body).toEqual(op?.body);
        expect(got.header).toEqual(op?.header);
      }));

    it("answers range queries by seqNum: (after, until], limit, in order", () =>
      withStore(async (store, a) => {
        const ops = await chain(a, 10);
        await store.putMany(ops);
        expect(seqs(await store.range(a.nodeId, 0))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(seqs(await store.range(a.nodeId, 0, 3))).toEqual([4, 5, 6, 7, 8, 9]);
        expect(seqs(await store.range(a.nodeId, 0, 3, 6))).toEqual([4, 5, 6]);
        expect(seqs(await store.range(a.nodeId, 0, undefined, 1))).toEqual([0, 1]);
        expect(seqs(await store.range(a.nodeId, 0, 2, undefined, 3))).toEqual([3, 4, 5]);
        expect(await store.range(a.nodeId, 1)).toEqual([]);
        const size = await store.rangeSize(a.nodeId, 0, 3, 6);
        const expected = ops
          .slice(4, 7)
          .reduce((n, o) => n + o.headerBytes.length + (o.body?.length ?? 0), 0);
        expect(size).toEqual({ operations: 3, bytes: expected });
        expect(await store.rangeSize(a.nodeId, 9)).toEqual({ operations: 0, bytes: 0 });
      }));

    it("skips operations it already holds", () =>
      withStore(async (store, a) => {
        const ops = await chain(a, 4);
        await store.putMany(ops.slice(0, 3));
        const result = await store.putMany(ops);
        expect(result.duplicates).toBe(3);
        expect(result.inserted.map((o) => o.header.seqNum)).toEqual([3]);
        expect(seqs(await store.range(a.nodeId, 0))).toEqual([0, 1, 2, 3]);
      }));

    it("never leaves a gap: a new log starts at 0, each operation follows the latest", () =>
      withStore(async (store, a) => {
        const ops = await chain(a, 5);
        await expect(store.putMany(ops.slice(1, 3))).rejects.toBeInstanceOf(LogGapError);
        await store.putMany(ops.slice(0, 2));
        await expect(store.putMany([ops[3] as Operation])).rejects.toBeInstanceOf(LogGapError);
        expect(seqs(await store.range(a.nodeId, 0))).toEqual([0, 1]);
      }));

    it("refuses an operation whose backlink is not the latest operation's hash", () =>
      withStore(async (store, a) => {
        const main = await chain(a, 3, 0, "main");
        const fork = await chain(a, 3, 0, "fork");
        await store.putMany(main.slice(0, 2));
        await expect(store.putMany([fork[2] as Operation])).rejects.toBeInstanceOf(LogGapError);
      }));

    it("detects a fork: another operation at a held place", () =>
      withStore(async (store, a) => {
        const main = await chain(a, 2, 0, "main");
        const fork = await chain(a, 2, 0, "fork");
        await store.putMany(main);
        await expect(store.putMany([fork[1] as Operation])).rejects.toBeInstanceOf(LogForkError);
      }));

    it("is atomic per batch: a failure anywhere stores nothing of the batch", () =>
      withStore(async (store, a, b) => {
        const ops = await chain(a, 6);
        const other = await chain(b, 2);
        // Valid start of two logs, then a gap at the end.
        const batch = [ops[0], ops[1], other[0], ops[2], ops[4]] as Operation[];
        await expect(store.putMany(batch)).rejects.toBeInstanceOf(LogGapError);
        expect(await store.latest(a.nodeId, 0)).toBeUndefined();
        expect(await store.latest(b.nodeId, 0)).toBeUndefined();
        await store.putMany(ops.slice(0, 3));
        expect(seqs(await store.range(a.nodeId, 0))).toEqual([0, 1, 2]);
      }));

    it("prunes a log's start, keeping its latest operation, height and tip", () =>
      withStore(async (store, a) => {
        const ops = await chain(a, 6);
        await store.putMany(ops);
        expect(await store.prune(a.nodeId, 0, 3)).toBe(3);
        expect(seqs(await store.range(a.nodeId, 0))).toEqual([3, 4, 5]);
        expect(await store.get(a.nodeId, 0, 1)).toBeUndefined();
        expect(await store.rangeSize(a.nodeId, 0)).toMatchObject({ operations: 3 });
        expect(await store.prune(a.nodeId, 0, 100)).toBe(2);
        expect(seqs(await store.range(a.nodeId, 0))).toEqual([5]);
        const heights = await store.heights(new Map([[a.nodeId, [0]]]));
        expect(heights).toEqual([{ author: a.nodeId, logId: 0, seqNum: 5 }]);
        const [next] = await chain(a, 7).then((c) => c.slice(6));
        await store.putMany([next as Operation]);
        expect((await store.latest(a.nodeId, 0))?.header.seqNum).toBe(6);
      }));
  });
}

/**
 * Registers the conformance suite of a {@link TopicStore} backend (one Vitest `describe`).
 * @param name - names the backend in the test titles.
 * @param open - gives each test a fresh, empty store (and how to close it).
 */
export function describeTopicStoreConformance(
  name: string,
  open: () => Promise<StoreFixture<TopicStore>>,
): void {
  describe(`TopicStore conformance: ${name}`, () => {
    const A = "0a".repeat(32) as NodeId;
    const B = "0b".repeat(32) as NodeId;

    it("associates logs with topics, idempotently, and resolves them sorted", async () => {
      const { store, close } = await open();
      const topic = Topic.fromName("conformance");
      expect(await store.associate(topic, B, 2)).toBe(true);
      expect(await store.associate(topic, A, "z")).toBe(true);
      expect(await store.associate(topic, B, 1)).toBe(true);
      expect(await store.associate(topic, B, 1)).toBe(false);
      const logs = await store.resolve(topic);
      expect([...logs.keys()]).toEqual([A, B]);
      expect(logs.get(B)).toEqual([1, 2]);
      expect((await store.resolve(Topic.fromName("other"))).size).toBe(0);
      await close?.();
    });

    it("removes logs, and authors with no log left", async () => {
      const { store, close } = await open();
      const topic = Topic.fromName("conformance");
      await store.associate(topic, A, 1);
      await store.associate(topic, B, 1);
      expect(await store.remove(topic, A, 1)).toBe(true);
      expect(await store.remove(topic, A, 1)).toBe(false);
      expect([...(await store.resolve(topic)).keys()]).toEqual([B]);
      await close?.();
    });
  });
}
