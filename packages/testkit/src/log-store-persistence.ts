/**
 * What every persistent backend must do beyond core's conformance suite: keep everything across
 * close and reopen, never store part of a bad batch, leave only gap-free chains behind when a
 * sync session is cut off mid-write, and carry a full two-node sync. Imports nothing Node-only:
 * the Chromium tests run it on real IndexedDB.
 * @module
 */
import type { Identity, NodeId, Topic } from "@p2panda-web/core";
import { memoryChannelPair, Topic as TopicId } from "@p2panda-web/core";
import {
  createOperation,
  LogGapError,
  type LogId,
  type LogStore,
  logIdOf,
  MemoryLogStore,
  MemoryTopicStore,
  type Operation,
  SyncSession,
  type TopicStore,
  validateOperation,
} from "@p2panda-web/core/sync";
import { describe, expect, it } from "vitest";
import { seededIdentity } from "./identities.ts";

/** A backend's stores over one database, and how to close it. */
export interface OpenStores {
  readonly logStore: LogStore;
  readonly topicStore: TopicStore;
  /** Closes both stores and their database. */
  close(): Promise<void>;
}

/** How the suite gets at a backend: a fresh database name and opening a database by name. */
export interface Backend {
  /** Names the backend in test titles. */
  readonly name: string;
  /** A database name not used before. */
  freshName(): string;
  /** Opens (or creates) the database `name` and its stores. */
  open(name: string): Promise<OpenStores>;
}

/** A signed chain of `length` operations of one log, with 100-byte payloads unless told. */
export async function makeChain(
  identity: Identity,
  length: number,
  logId: LogId = 0,
  options: { tag?: string; from?: Operation; payload?: (i: number) => Uint8Array | undefined } = {},
): Promise<Operation[]> {
  const ops: Operation[] = [];
  let previous = options.from;
  const start = previous === undefined ? 0 : previous.header.seqNum + 1;
  for (let i = start; i < start + length; i++) {
    const payload =
      options.payload !== undefined
        ? options.payload(i)
        : new TextEncoder().encode(`${options.tag ?? ""}${i}`.padEnd(100, "."));
    previous = await createOperation(identity, {
      ...(payload !== undefined ? { payload } : {}),
      logId,
      seqNum: i,
      ...(previous !== undefined ? { backlink: previous.hash } : {}),
      timestamp: 1_700_000_000_000_000 + i,
    });
    ops.push(previous);
  }
  return ops;
}

/**
 * Checks that the log holds exactly `0..n-1` and that every operation validates (signature
 * included) against its predecessor. Returns `n`.
 */
export async function expectValidChain(
  store: LogStore,
  author: NodeId,
  logId: LogId,
): Promise<number> {
  const ops = await store.range(author, logId);
  let previous: Operation | undefined;
  for (const [i, op] of ops.entries()) {
    expect(op.header.seqNum).toBe(i);
    await validateOperation(op, previous);
    previous = op;
  }
  const heights = await store.heights(new Map([[author, [logId]]]));
  if (ops.length === 0) expect(heights).toEqual([]);
  else expect(heights).toEqual([{ author, logId, seqNum: ops.length - 1 }]);
  expect((await store.latest(author, logId))?.hash).toEqual(previous?.hash);
  return ops.length;
}

/** Field-by-field equality of a stored operation with the original. */
export function expectSameOperation(got: Operation | undefined, want: Operation): void {
  expect(got).toBeDefined();
  const g = got as Operation;
  expect(g.hash).toEqual(want.hash);
  expect(g.headerBytes).toEqual(want.headerBytes);
  expect(g.header).toEqual(want.header);
  expect(g.header.verifyingKey).toEqual(want.header.verifyingKey);
  expect(g.header.signature).toEqual(want.header.signature);
  expect(g.header.backlink).toEqual(want.header.backlink);
  expect(g.header.payloadHash).toEqual(want.header.payloadHash);
  expect(g.header.seqNum).toBe(want.header.seqNum);
  expect(g.header.timestamp).toBe(want.header.timestamp);
  expect(g.header.extensions).toEqual(want.header.extensions);
  expect("body" in g).toBe("body" in want);
  if (want.body !== undefined) expect(g.body).toEqual(want.body);
}

/** A node: an identity and persistent stores. */
interface Node {
  identity: Identity;
  stores: OpenStores;
}

/**
 * Runs `from` (initiator, holding the data) against `to` (acceptor). `interrupt` is called on
 * every operation `to` stores, with the session, and may cut it off.
 */
async function syncInto(
  from: { identity: Identity; logStore: LogStore; topicStore: TopicStore },
  to: Node,
  topic: Topic,
  options: { batchSize?: number; interrupt?: (stored: number, session: SyncSession) => void } = {},
): Promise<{ error?: Error; stored: number }> {
  const initiator = new SyncSession({
    role: "initiator",
    topic,
    logStore: from.logStore,
    topicStore: from.topicStore,
  });
  const acceptor = new SyncSession({
    role: "acceptor",
    logStore: to.stores.logStore,
    topicStore: to.stores.topicStore,
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
  });
  let stored = 0;
  acceptor.events$.subscribe((event) => {
    if (event.type !== "sync:operation-received") return;
    stored++;
    options.interrupt?.(stored, acceptor);
  });
  const [a, b] = memoryChannelPair(from.identity.nodeId, to.identity.nodeId, {
    receiveTimeoutMs: 20_000,
  });
  const results = await Promise.allSettled([initiator.run(a), acceptor.run(b)]);
  const failed = results[1];
  return failed.status === "rejected" ? { error: failed.reason as Error, stored } : { stored };
}

/** A memory node holding `logs` of `perLog` operations each, all associated with `topic`. */
async function source(seed: number, topic: Topic, logs: readonly LogId[], perLog: number) {
  const identity = await seededIdentity(seed);
  const logStore = new MemoryLogStore();
  const topicStore = new MemoryTopicStore();
  const chains: Operation[][] = [];
  for (const logId of logs) {
    const chain = await makeChain(identity, perLog, logId);
    await logStore.putMany(chain);
    await topicStore.associate(topic, identity.nodeId, logId);
    chains.push(chain);
  }
  return { identity, logStore, topicStore, chains };
}

/** Registers the persistence suite for `backend`. */
export function describePersistence(backend: Backend): void {
  describe(`persistence: ${backend.name}`, () => {
    it("close and reopen keeps every operation, field by field, and the topic associations", async () => {
      const name = backend.freshName();
      const a = await seededIdentity(41);
      const b = await seededIdentity(42);
      const topic = TopicId.fromName("persist");
      const logs: [Identity, LogId, Operation[]][] = [
        [a, 0, await makeChain(a, 40, 0)],
        [a, "chat", await makeChain(a, 5, "chat", { payload: () => undefined })],
        [a, [7, "doc"], await makeChain(a, 3, [7, "doc"])],
        [b, new Uint8Array([1, 2, 3]), await makeChain(b, 4, new Uint8Array([1, 2, 3]))],
        // Bodies of varied sizes, one empty (no body at all).
        [
          b,
          9,
          await makeChain(b, 6, 9, {
            payload: (i) => (i === 2 ? undefined : new Uint8Array(i * 1000).fill(i)),
          }),
        ],
      ];
      let stores = await backend.open(name);
      for (const [identity, logId, chain] of logs) {
        await stores.logStore.putMany(chain.slice(0, 2));
        await stores.logStore.putMany(chain.slice(2));
        await stores.topicStore.associate(topic, identity.nodeId, logId);
      }
      expect(await stores.logStore.prune(a.nodeId, 0, 10)).toBe(10);
      await stores.close();

      stores = await backend.open(name);
      for (const [identity, logId, chain] of logs) {
        const held = logId === 0 ? chain.slice(10) : chain;
        const got = await stores.logStore.range(identity.nodeId, logId);
        expect(got).toHaveLength(held.length);
        for (const [i, op] of held.entries()) {
          expectSameOperation(got[i], op);
          expectSameOperation(
            await stores.logStore.get(identity.nodeId, logId, op.header.seqNum),
            op,
          );
        }
        expectSameOperation(
          await stores.logStore.latest(identity.nodeId, logId),
          chain.at(-1) as Operation,
        );
        const bytes = held.reduce((n, o) => n + o.headerBytes.length + (o.body?.length ?? 0), 0);
        expect(await stores.logStore.rangeSize(identity.nodeId, logId)).toEqual({
          operations: held.length,
          bytes,
        });
      }
      expect(await stores.logStore.get(a.nodeId, 0, 9)).toBeUndefined();
      const resolved = await stores.topicStore.resolve(topic);
      expect(resolved.get(a.nodeId)).toEqual([0, "chat", [7, "doc"]]);
      expect(resolved.get(b.nodeId)).toEqual([9, new Uint8Array([1, 2, 3])]);
      const heights = await stores.logStore.heights(resolved);
      expect(heights).toHaveLength(logs.length);
      // Appending goes on where it stopped.
      const [, , first] = logs[0] as [Identity, LogId, Operation[]];
      const more = await makeChain(a, 2, 0, { from: first.at(-1) as Operation });
      expect((await stores.logStore.putMany(more)).inserted).toHaveLength(2);
      await stores.close();
      stores = await backend.open(name);
      expect((await stores.logStore.latest(a.nodeId, 0))?.header.seqNum).toBe(41);
      expect(await stores.logStore.rangeSize(a.nodeId, 0)).toMatchObject({ operations: 32 });
      await stores.close();
    });

    it("applies concurrent batches in call order, each checked against the ones before", async () => {
      const stores = await backend.open(backend.freshName());
      const a = await seededIdentity(52);
      const chain = await makeChain(a, 30);
      const results = await Promise.allSettled([
        stores.logStore.putMany(chain.slice(0, 10)),
        stores.logStore.putMany(chain.slice(10, 20)),
        stores.logStore.putMany(chain.slice(0, 20)),
        stores.logStore.putMany(chain.slice(25, 30)),
        stores.logStore.putMany(chain.slice(20, 25)),
      ]);
      const inserted = results.map((r) =>
        r.status === "fulfilled" ? r.value.inserted.length : r.reason.name,
      );
      expect(inserted).toEqual([10, 10, 0, "LogGapError", 5]);
      expect(await expectValidChain(stores.logStore, a.nodeId, 0)).toBe(25);
      await stores.close();
    });

    it("refuses every use after close", async () => {
      const stores = await backend.open(backend.freshName());
      await stores.close();
      await stores.close();
      const a = await seededIdentity(43);
      await expect(stores.logStore.latest(a.nodeId, 0)).rejects.toMatchObject({
        code: "LOG_STORE_CLOSED",
      });
      await expect(stores.logStore.putMany(await makeChain(a, 1))).rejects.toMatchObject({
        code: "LOG_STORE_CLOSED",
      });
      await expect(stores.topicStore.resolve(TopicId.fromName("x"))).rejects.toMatchObject({
        code: "LOG_STORE_CLOSED",
      });
    });

    describe("an interrupted batch never leaves a gap", () => {
      it("(a) a batch whose 3rd operation breaks the chain stores nothing of that batch, also after reopening", async () => {
        const name = backend.freshName();
        const a = await seededIdentity(44);
        const b = await seededIdentity(45);
        const chain = await makeChain(a, 8);
        const fork = await makeChain(a, 8, 0, { tag: "fork" });
        const other = await makeChain(b, 3);
        let stores = await backend.open(name);
        await stores.logStore.putMany(chain.slice(0, 2));
        // 3rd operation skips a seqNum.
        const skipping = [chain[2], other[0], chain[4], chain[5]] as Operation[];
        await expect(stores.logStore.putMany(skipping)).rejects.toBeInstanceOf(LogGapError);
        // 3rd operation has the right seqNum but a backlink into another chain.
        const forged = [chain[2], chain[3], fork[4], other[0]] as Operation[];
        await expect(stores.logStore.putMany(forged)).rejects.toBeInstanceOf(LogGapError);
        // 3rd operation starts a log past seqNum 0.
        const headless = [chain[2], chain[3], other[1], other[2]] as Operation[];
        await expect(stores.logStore.putMany(headless)).rejects.toBeInstanceOf(LogGapError);
        await stores.close();
        stores = await backend.open(name);
        expect(await expectValidChain(stores.logStore, a.nodeId, 0)).toBe(2);
        expect(await expectValidChain(stores.logStore, b.nodeId, 0)).toBe(0);
        // The store is still usable, and the same batches fixed go through whole.
        const result = await stores.logStore.putMany([...chain.slice(2), ...other]);
        expect(result.inserted).toHaveLength(9);
        expect(await expectValidChain(stores.logStore, a.nodeId, 0)).toBe(8);
        await stores.close();
      });

      it("a sync session aborted mid-way leaves only gap-free, valid chains", async () => {
        const topic = TopicId.fromName("abort");
        const from = await source(46, topic, [0, "b", "c"], 120);
        const name = backend.freshName();
        const to: Node = { identity: await seededIdentity(47), stores: await backend.open(name) };
        const outcome = await syncInto(from, to, topic, {
          batchSize: 16,
          interrupt: (stored, session) => {
            if (stored === 150) session.abort();
          },
        });
        expect(outcome.error?.name).toBe("SessionAbortedError");
        await to.stores.close();
        const reopened = await backend.open(name);
        let total = 0;
        for (const logId of [0, "b", "c"]) {
          total += await expectValidChain(reopened.logStore, from.identity.nodeId, logId);
        }
        // Everything acknowledged was stored; the abort stopped it short of the end.
        expect(total).toBeGreaterThanOrEqual(150);
        expect(total).toBeLessThan(360);
        await reopened.close();
      });

      it("closing the database while a session writes ends the session and leaves valid chains", async () => {
        const topic = TopicId.fromName("close");
        const from = await source(48, topic, [0, 1], 150);
        const name = backend.freshName();
        const to: Node = { identity: await seededIdentity(49), stores: await backend.open(name) };
        let closing: Promise<void> | undefined;
        const outcome = await syncInto(from, to, topic, {
          batchSize: 8,
          interrupt: (stored) => {
            if (stored === 40) closing = to.stores.close();
          },
        });
        await closing;
        expect(outcome.error).toBeDefined();
        expect(outcome.stored).toBeLessThan(300);
        const reopened = await backend.open(name);
        let total = 0;
        for (const logId of [0, 1]) {
          total += await expectValidChain(reopened.logStore, from.identity.nodeId, logId);
        }
        expect(total).toBeGreaterThanOrEqual(40);
        expect(total).toBe(outcome.stored);
        await reopened.close();
      });
    });

    it("carries a full two-node sync, both nodes on persistent stores", async () => {
      const topic = TopicId.fromName("two nodes");
      const a: Node = {
        identity: await seededIdentity(50),
        stores: await backend.open(backend.freshName()),
      };
      const bName = backend.freshName();
      const b: Node = { identity: await seededIdentity(51), stores: await backend.open(bName) };
      const written: Operation[] = [];
      for (const [logId, length] of [
        [0, 250],
        ["notes", 30],
      ] as const) {
        const chain = await makeChain(a.identity, length, logId);
        for (let i = 0; i < chain.length; i += 50) {
          await a.stores.logStore.putMany(chain.slice(i, i + 50));
        }
        await a.stores.topicStore.associate(topic, a.identity.nodeId, logId);
        written.push(...chain);
      }
      // B already holds its own log of the topic, which A must receive.
      const own = await makeChain(b.identity, 20, 0);
      await b.stores.logStore.putMany(own);
      await b.stores.topicStore.associate(topic, b.identity.nodeId, 0);

      const outcome = await syncInto(
        { identity: a.identity, logStore: a.stores.logStore, topicStore: a.stores.topicStore },
        b,
        topic,
      );
      expect(outcome.error).toBeUndefined();
      expect(outcome.stored).toBe(280);
      // A got B's log in the same session.
      expect(await expectValidChain(a.stores.logStore, b.identity.nodeId, 0)).toBe(20);
      expect((await a.stores.topicStore.resolve(topic)).get(b.identity.nodeId)).toEqual([0]);
      await b.stores.close();

      const reopened = await backend.open(bName);
      expect(await expectValidChain(reopened.logStore, a.identity.nodeId, 0)).toBe(250);
      expect(await expectValidChain(reopened.logStore, a.identity.nodeId, "notes")).toBe(30);
      for (const op of written) {
        expectSameOperation(
          await reopened.logStore.get(a.identity.nodeId, logIdOf(op.header), op.header.seqNum),
          op,
        );
      }
      expect((await reopened.topicStore.resolve(topic)).get(a.identity.nodeId)).toEqual([
        0,
        "notes",
      ]);
      await reopened.close();
      await a.stores.close();
    });
  });
}
