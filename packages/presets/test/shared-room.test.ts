// One node per origin in Node: fake-indexeddb stands in for the origin's IndexedDB, realm locks
// for the Web Locks every tab shares.
import "fake-indexeddb/auto";
import { ManualPageSignals } from "@p2panda-web/core";
import { filter, firstValueFrom } from "rxjs";
import { describe, expect, it } from "vitest";
import { type IdentityLocks, joinTopic, memoryLocks } from "../src/index.ts";
import { describeSharedRoom } from "./shared-room-suite.ts";

describeSharedRoom(memoryLocks);

describe("SharedRoom in the back/forward cache", () => {
  let run = 0;
  const TOPIC = "shared room: a topic in the bfcache";

  /** Realm locks whose `contend` is recorded and does what the browser would (`evict`). */
  function contendedLocks() {
    const contended: string[] = [];
    let evict: () => Promise<void> = async () => {};
    const locks: IdentityLocks = {
      ...memoryLocks(),
      async contend(name) {
        contended.push(name);
        await evict();
      },
    };
    return {
      locks,
      contended,
      onContend(then: () => Promise<void>) {
        evict = then;
      },
    };
  }

  it("a leader going into the bfcache is evicted at its followers' request: the next tab takes over and a write in flight is stored once", async () => {
    const namespace = `bfcache-evicted-${Date.now()}-${run++}`;
    const { locks, contended, onContend } = contendedLocks();
    const pageA = new ManualPageSignals();
    const a = await joinTopic({ topic: TOPIC, namespace, locks, signals: pageA });
    const b = await joinTopic({ topic: TOPIC, namespace, locks, signals: new ManualPageSignals() });
    expect([a.role, b.role]).toEqual(["leader", "follower"]);
    const nodeId = a.nodeId;
    // The browser evicts the cached page: in this realm, the closest is A leaving its room
    // (the lock passes on; its node stops).
    let evicted: Promise<void> | undefined;
    onContend(async () => {
      evicted ??= a.leave();
    });
    const leads = firstValueFrom(b.role$.pipe(filter((role) => role === "leader")));
    pageA.emit({ type: "pagehide", persisted: true });
    // B's append went to A, which will never answer it from the cache: B sends it to itself.
    const inFlight = b.log.append("written while a was away");
    await leads;
    await evicted;
    expect(contended.length).toBeGreaterThanOrEqual(1);
    expect(b.node?.identity.nodeId).toBe(nodeId);
    expect((await inFlight).author).toBe(nodeId);
    expect((await b.log.history()).map((e) => e.text())).toEqual(["written while a was away"]);
    // Leading, B asks for no eviction any more.
    const asked = contended.length;
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(contended).toHaveLength(asked);
    await b.leave();
  });

  it("a leader restored from the bfcache (nobody took over) leads on: it announces itself and serves again", async () => {
    const namespace = `bfcache-restored-${Date.now()}-${run++}`;
    const { locks, contended } = contendedLocks();
    const pageA = new ManualPageSignals();
    const a = await joinTopic({ topic: TOPIC, namespace, locks, signals: pageA });
    const b = await joinTopic({ topic: TOPIC, namespace, locks, signals: new ManualPageSignals() });
    pageA.emit({ type: "pagehide", persisted: true });
    // B contends for the lock (the browser would evict A), once a second.
    await expect.poll(() => contended.length, { timeout: 3_000 }).toBeGreaterThanOrEqual(2);
    // A page in the cache runs nothing; here it comes back before any eviction.
    pageA.emit({ type: "pageshow", persisted: true });
    const entry = await b.log.append("after the return");
    expect(entry.author).toBe(a.nodeId);
    expect([a.role, b.role]).toEqual(["leader", "follower"]);
    const asked = contended.length;
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(contended).toHaveLength(asked);
    // A page that really unloads is not the room's business (the app leaves it).
    pageA.emit({ type: "pagehide", persisted: false });
    expect(await b.log.append("still served")).toMatchObject({ author: a.nodeId });
    await b.leave();
    await a.leave();
  });
});
