// One node per origin in Node: fake-indexeddb stands in for the origin's IndexedDB, realm locks
// for the Web Locks every tab shares.
import "fake-indexeddb/auto";
import { ManualPageSignals } from "@p2panda-web/core";
import { filter, firstValueFrom, type Observable } from "rxjs";
import { describe, expect, it } from "vitest";
import { type IdentityLocks, joinTopic, memoryLocks, type TabRole } from "../src/index.ts";
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

describe("SharedRoom with a frozen leader", () => {
  let run = 0;
  const TOPIC = "shared room: a topic with a frozen leader";
  const texts = async (room: { log: { history(): Promise<{ text(): string }[]> } }) =>
    (await room.log.history()).map((e) => e.text()).sort();
  const leads = (room: { role$: Observable<TabRole> }) =>
    firstValueFrom(room.role$.pipe(filter((role) => role === "leader")));

  /** Three tabs of one origin; A, the first, leads and its page signals are driven by hand. */
  async function threeTabs(name: string) {
    const namespace = `${name}-${Date.now()}-${run++}`;
    const locks = memoryLocks();
    const pageA = new ManualPageSignals();
    const open = (signals: ManualPageSignals) =>
      joinTopic({ topic: TOPIC, namespace, locks, signals });
    const a = await open(pageA);
    const b = await open(new ManualPageSignals());
    const c = await open(new ManualPageSignals());
    expect([a.role, b.role, c.role]).toEqual(["leader", "follower", "follower"]);
    return { a, b, c, pageA, nodeId: a.nodeId };
  }

  it("a frozen leader releases the lock and stops its node: the next tab in line leads with the same node id; resumed, it follows", async () => {
    const { a, b, c, pageA, nodeId } = await threeTabs("frozen-takeover");
    await c.log.append("before");
    const node = a.node;
    const bLeads = leads(b);
    pageA.emit({ type: "frozen" });
    // Stepped down within the event: no room, a follower, the node stopping.
    expect(a.role).toBe("follower");
    expect(a.node).toBeUndefined();
    await bLeads;
    expect(b.node?.identity.nodeId).toBe(nodeId);
    await expect.poll(() => node?.state).toBe("stopped");
    expect((await c.log.append("while a is frozen")).author).toBe(nodeId);

    // Resumed, A lines up again behind B: it follows and sees every line.
    pageA.emit({ type: "resumed" });
    await expect.poll(() => a.nodeId).toBe(nodeId);
    expect((await a.log.append("after the resume")).author).toBe(nodeId);
    expect([a.role, b.role, c.role]).toEqual(["follower", "leader", "follower"]);
    for (const tab of [a, b, c]) {
      expect(await texts(tab)).toEqual(["after the resume", "before", "while a is frozen"]);
    }
    // B goes: A is in line again (behind C or first) and one of them leads.
    await b.leave();
    await expect.poll(() => [a.role, c.role].sort().join()).toBe("follower,leader");
    expect(await texts(a)).toEqual(["after the resume", "before", "while a is frozen"]);
    await Promise.all([a.leave(), c.leave()]);
  });

  it("a lone leader keeps its node through a freeze (nobody waits for the lock): it pauses, not restarts", async () => {
    const namespace = `frozen-alone-${Date.now()}-${run++}`;
    const page = new ManualPageSignals();
    const a = await joinTopic({ topic: TOPIC, namespace, locks: memoryLocks(), signals: page });
    const node = a.node;
    await a.log.append("before");
    page.emit({ type: "frozen" });
    expect(a.role).toBe("leader");
    expect(a.node).toBe(node);
    page.emit({ type: "resumed" });
    expect(a.node).toBe(node);
    expect(node?.state).not.toBe("stopped");
    expect(await texts(a)).toEqual(["before"]);
    await a.leave();
  });

  it("an append a follower sent to the leader, stored there as the leader freezes, is stored once", async () => {
    const { a, b, c, pageA, nodeId } = await threeTabs("frozen-stored");
    // A stores C's entry and freezes before it answers (the answer goes out after the write).
    const stored = a.log.operations$.subscribe(() => {
      stored.unsubscribe();
      pageA.emit({ type: "frozen" });
    });
    const entry = await c.log.append("stored as a froze");
    expect(entry.author).toBe(nodeId);
    await leads(b);
    expect(await texts(b)).toEqual(["stored as a froze"]);
    expect(await texts(c)).toEqual(["stored as a froze"]);
    await Promise.all([c.leave(), a.leave()]);
    await b.leave();
  });

  it("an append sent to a leader that froze before running it is run by the next leader, once", async () => {
    const { a, b, c, pageA, nodeId } = await threeTabs("frozen-unrun");
    const bLeads = leads(b);
    // The call is posted to A; A steps down before the channel delivers it.
    const inFlight = c.log.append("sent to a frozen leader");
    pageA.emit({ type: "frozen" });
    await bLeads;
    expect((await inFlight).author).toBe(nodeId);
    expect(await texts(c)).toEqual(["sent to a frozen leader"]);
    await Promise.all([c.leave(), a.leave()]);
    await b.leave();
  });

  it("an append the leader itself is writing as it freezes is stored once", async () => {
    const { a, b, c, pageA, nodeId } = await threeTabs("frozen-own");
    const own = a.log.append("written by a as it froze");
    pageA.emit({ type: "frozen" });
    expect((await own).author).toBe(nodeId);
    await leads(b);
    expect(await texts(b)).toEqual(["written by a as it froze"]);
    expect(await texts(c)).toEqual(["written by a as it froze"]);
    await Promise.all([c.leave(), a.leave()]);
    await b.leave();
  });
});
