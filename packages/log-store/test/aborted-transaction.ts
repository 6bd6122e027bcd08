/**
 * IndexedDB only: a transaction aborted halfway through its writes (what a crashed tab or a
 * failing disk does to it) takes the whole batch with it. Runs on fake-indexeddb and on
 * Chromium's IndexedDB; writes are cut off by aborting the transaction from inside
 * `IDBObjectStore.prototype.put` after some puts were issued.
 */
import { memoryChannelPair, Topic } from "@p2panda-web/core";
import {
  MemoryLogStore,
  MemoryTopicStore,
  type Operation,
  SyncSession,
} from "@p2panda-web/core/sync";
import {
  type Backend,
  expectValidChain,
  makeChain,
  seededIdentity,
} from "@p2panda-web/testkit/log-store";
import { afterEach, describe, expect, it } from "vitest";

/** Makes the `n`-th `put` from now abort its transaction right after issuing it. */
function abortOnPut(n: number): () => void {
  const proto = IDBObjectStore.prototype;
  const original = proto.put;
  let calls = 0;
  proto.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore["put"]>) {
    const request = original.apply(this, args);
    if (++calls === n) this.transaction.abort();
    return request;
  };
  return () => {
    proto.put = original;
  };
}

export function describeAbortedTransaction(backend: Backend): void {
  describe(`aborted transactions: ${backend.name}`, () => {
    let restore: (() => void) | undefined;
    afterEach(() => {
      restore?.();
      restore = undefined;
    });

    it("a batch whose transaction aborts after 5 of its writes stores none of it", async () => {
      const name = backend.freshName();
      const a = await seededIdentity(90);
      const chain = await makeChain(a, 12);
      let stores = await backend.open(name);
      await stores.logStore.putMany(chain.slice(0, 2));
      restore = abortOnPut(5);
      await expect(stores.logStore.putMany(chain.slice(2))).rejects.toMatchObject({
        code: "LOG_STORE",
      });
      restore();
      expect(await expectValidChain(stores.logStore, a.nodeId, 0)).toBe(2);
      await stores.close();
      stores = await backend.open(name);
      expect(await expectValidChain(stores.logStore, a.nodeId, 0)).toBe(2);
      expect((await stores.logStore.putMany(chain.slice(2))).inserted).toHaveLength(10);
      await stores.close();
    });

    it("(b) a transaction aborted mid-write during a sync session leaves gap-free, valid chains after reopening", async () => {
      const topic = Topic.fromName("aborted tx");
      const author = await seededIdentity(91);
      const logStore = new MemoryLogStore();
      const topicStore = new MemoryTopicStore();
      for (const logId of [0, 1]) {
        const chain: Operation[] = await makeChain(author, 100, logId);
        await logStore.putMany(chain);
        await topicStore.associate(topic, author.nodeId, logId);
      }
      const name = backend.freshName();
      const stores = await backend.open(name);
      const receiver = await seededIdentity(92);
      const initiator = new SyncSession({ role: "initiator", topic, logStore, topicStore });
      const acceptor = new SyncSession({
        role: "acceptor",
        logStore: stores.logStore,
        topicStore: stores.topicStore,
        batchSize: 16,
      });
      let stored = 0;
      acceptor.events$.subscribe((e) => {
        if (e.type === "sync:operation-received") stored++;
      });
      // Puts of a batch: 16 operations plus one per log touched. The 61st lands mid-batch.
      restore = abortOnPut(61);
      const [ca, cb] = memoryChannelPair(author.nodeId, receiver.nodeId);
      const [, accepted] = await Promise.allSettled([initiator.run(ca), acceptor.run(cb)]);
      restore();
      expect(accepted.status).toBe("rejected");
      expect(stored).toBeGreaterThan(0);
      expect(stored).toBeLessThan(61);
      await stores.close();
      const reopened = await backend.open(name);
      let total = 0;
      for (const logId of [0, 1]) {
        total += await expectValidChain(reopened.logStore, author.nodeId, logId);
      }
      // Exactly the batches the session reported stored survived; the aborted one left nothing.
      expect(total).toBe(stored);
      expect(total % 16).toBe(0);
      await reopened.close();
    });
  });
}
