// One node per origin, run in Node (fake-indexeddb, realm locks, Node's BroadcastChannel, which
// delivers between channels of one process) and in Chromium (IndexedDB, the Web Locks API and
// BroadcastChannel, which delivers between channels of one page too). Each `joinTopic` is a tab.
import { Topic, TopicSecret } from "@p2panda-web/core";
import { filter, firstValueFrom, take, toArray } from "rxjs";
import { describe, expect, it } from "vitest";
import {
  type IdentityLocks,
  identitySlotLockName,
  joinTopic,
  SharedRoom,
  TabCallTimeoutError,
  TabLeaderTimeoutError,
  topicStorageKey,
} from "../src/index.ts";
import { TAB_PROTOCOL_VERSION } from "../src/tabs/tab-message.ts";

let run = 0;
const unique = () => `${Date.now()}-${run++}`;
const TOPIC = "shared room: a topic of one app";

export function describeSharedRoom(newLocks: () => IdentityLocks): void {
  function tabsOf(namespace: string) {
    const locks = newLocks();
    return () => joinTopic({ topic: TOPIC, namespace, locks });
  }

  /** The channel name joinTopic uses for a stored identity (see join-topic.ts). */
  async function channelName(namespace: string): Promise<string> {
    const topic = await Topic.fromName(TOPIC);
    const scope = `${namespace}/${topicStorageKey(TopicSecret.fromTopic(topic).topic)}`;
    return `p2panda-web/tabs/${scope}/${identitySlotLockName(namespace, topic, 0)}`;
  }

  const texts = async (room: { log: { history(): Promise<{ text(): string }[]> } }) =>
    (await room.log.history()).map((e) => e.text()).sort();

  describe("SharedRoom (joinTopic, tabs: shared)", () => {
    it("three tabs share one node: one leader, one node id, and every tab's writes in every tab", async () => {
      const open = tabsOf(`three-${unique()}`);
      const a = await open();
      const [b, c] = await Promise.all([open(), open()]);
      expect([a.role, b.role, c.role]).toEqual(["leader", "follower", "follower"]);
      expect(a.node?.state).toBe("running");
      expect(b.node).toBeUndefined();
      expect(new Set([a.nodeId, b.nodeId, c.nodeId]).size).toBe(1);
      expect(b.topic).toBe(a.topic);

      // C hears B's entry live, with the author being the shared node.
      const heard = firstValueFrom(c.log.operations$.pipe(take(1)));
      const entry = await b.log.append("from b");
      expect(entry.author).toBe(a.nodeId);
      expect((await heard).id).toBe(entry.id);
      await a.log.append("from a");
      await c.log.append("from c");
      for (const tab of [a, b, c]) {
        expect(await texts(tab)).toEqual(["from a", "from b", "from c"]);
      }
      await Promise.all([c.leave(), b.leave()]);
      await a.leave();
      expect(a.node).toBeUndefined();
    });

    it("when the leader leaves, the next tab takes over with the same node id and log; a write in flight is stored once", async () => {
      const open = tabsOf(`takeover-${unique()}`);
      const a = await open();
      const b = await open();
      const c = await open();
      await c.log.append("before");
      const nodeId = a.nodeId;
      const roles = firstValueFrom(b.role$.pipe(take(2), toArray()));

      // C's append goes to A, which is already leaving and never answers it: B, next in line,
      // takes over and C sends it again.
      const leaving = a.leave();
      const inFlight = c.log.append("in flight");
      await leaving;
      const entry = await inFlight;
      expect(await roles).toEqual(["follower", "leader"]);
      expect(b.node?.identity.nodeId).toBe(nodeId);
      expect(c.nodeId).toBe(nodeId);
      expect(entry.author).toBe(nodeId);
      expect(await texts(c)).toEqual(["before", "in flight"]);
      expect(await texts(b)).toEqual(["before", "in flight"]);
      await c.leave();
      await b.leave();
    });

    it("a new leader given a write again that the old leader stored but never answered returns the stored entry instead of storing it twice", async () => {
      const namespace = `retry-${unique()}`;
      const open = tabsOf(namespace);
      const a = await open();
      const b = await open();
      // A tab that speaks the protocol by hand; it "missed" A's answer.
      const raw = new BroadcastChannel(await channelName(namespace));
      const results: Record<string, unknown>[] = [];
      raw.onmessage = (event: MessageEvent) => {
        if (event.data?.kind === "result" && event.data.to === "raw") results.push(event.data);
      };
      const v = TAB_PROTOCOL_VERSION;
      const call = (to: string, retry: boolean) =>
        raw.postMessage({
          v,
          kind: "call",
          from: "raw",
          to,
          id: "call-1",
          method: "append",
          content: new TextEncoder().encode("once"),
          deadline: Date.now() + 10_000,
          ...(retry ? { retry: true } : {}),
        });
      call((a as SharedRoom).tabId, false);
      await expect.poll(() => results.length).toBe(1);
      await a.leave();
      await firstValueFrom(b.role$.pipe(filter((role) => role === "leader")));
      call((b as SharedRoom).tabId, true);
      await expect.poll(() => results.length).toBe(2);
      const [first, second] = results.map((r) => r.value as { headerBytes: Uint8Array });
      expect(second?.headerBytes).toEqual(first?.headerBytes);
      expect(await texts(b)).toEqual(["once"]);
      raw.close();
      await b.leave();
    });

    it("a leader survives malformed messages on the channel and still serves", async () => {
      const namespace = `bad-${unique()}`;
      const open = tabsOf(namespace);
      const a = await open();
      const b = await open();
      const raw = new BroadcastChannel(await channelName(namespace));
      const v = TAB_PROTOCOL_VERSION;
      const garbage: unknown[] = [
        "hello",
        null,
        { v, kind: "call", from: "x", to: "nobody", id: "1", method: "stop", deadline: 0 },
        { v, kind: "call", from: "x", to: "y", id: "2", method: "append", content: "text" },
        { v, kind: "result", from: "x", to: "y", id: "3", ok: true, value: { nope: 1 } },
        { v, kind: "entry", from: "x", entry: { headerBytes: new Uint8Array([9, 9, 9]) } },
        { v: v + 1, kind: "who", from: "x" },
        { v, kind: "leader", from: "x", nodeId: 5, peers: [] },
      ];
      for (const message of garbage) raw.postMessage(message);
      // A call with a well-formed shape but content that is not a valid append still only fails
      // that call. (Sent to the leader by its tab id.)
      raw.postMessage({
        v,
        kind: "call",
        from: "x",
        to: a instanceof SharedRoom ? a.tabId : "",
        id: "4",
        method: "publish",
        content: new Uint8Array(100_000),
        deadline: Date.now() + 10_000,
      });
      const failure = await new Promise<unknown>((resolve) => {
        raw.onmessage = (event: MessageEvent) => {
          if (event.data?.kind === "result" && event.data.id === "4") resolve(event.data);
        };
      });
      expect(failure).toMatchObject({ ok: false, error: { code: "ROOM_MESSAGE_TOO_LARGE" } });
      raw.close();
      await b.log.append("still served");
      expect(await texts(a)).toEqual(["still served"]);
      expect(a.role).toBe("leader");
      await b.leave();
      await a.leave();
    });

    it("a follower's call fails with TAB_CALL_TIMEOUT when the leader never answers", async () => {
      const locks = newLocks();
      const held = `shared-room-test: held ${unique()}`;
      await locks.tryAcquire(held);
      const name = `shared-room-test: silent leader ${unique()}`;
      const channel = new BroadcastChannel(name);
      const v = TAB_PROTOCOL_VERSION;
      // A leader that answers `who` and nothing else (a frozen tab would not even do that).
      channel.onmessage = (event: MessageEvent) => {
        if (event.data?.kind === "who") {
          channel.postMessage({
            v,
            kind: "leader",
            from: "silent",
            nodeId: "ab".repeat(32),
            peers: [],
          });
        }
      };
      const room = await SharedRoom.join({
        topic: Topic.random(),
        channel: broadcastChannel(name),
        locks,
        lockName: held,
        lead: () => Promise.reject(new Error("never elected")),
        callTimeoutMs: 100,
      });
      expect(room.nodeId).toBe("ab".repeat(32));
      const error = await room.log.append("lost?").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TabCallTimeoutError);
      expect(error).toMatchObject({ code: "TAB_CALL_TIMEOUT", method: "append" });
      channel.close();
      await room.leave();
    });

    it("joining fails with TAB_LEADER_TIMEOUT when nobody leads and the lock stays held", async () => {
      const locks = newLocks();
      const held = `shared-room-test: held ${unique()}`;
      await locks.tryAcquire(held);
      const error = await SharedRoom.join({
        topic: Topic.random(),
        channel: broadcastChannel(`shared-room-test: nobody ${unique()}`),
        locks,
        lockName: held,
        lead: () => Promise.reject(new Error("never elected")),
        leaderTimeoutMs: 100,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TabLeaderTimeoutError);
      expect(error).toMatchObject({ code: "TAB_LEADER_TIMEOUT" });
    });

    it("lines tabs up for the lock: the next in line gets it on release, an aborted wait never does", async () => {
      const locks = newLocks();
      const name = `shared-room-test: line ${unique()}`;
      const first = await locks.acquire(name);
      const order: string[] = [];
      const abort = new AbortController();
      const gaveUp = locks.acquire(name, abort.signal).catch((e: unknown) => {
        order.push("aborted");
        return e;
      });
      const second = locks.acquire(name).then((release) => {
        order.push("second");
        return release;
      });
      abort.abort(new Error("left the line"));
      expect(await gaveUp).toMatchObject({ message: "left the line" });
      expect(await locks.tryAcquire(name)).toBeUndefined();
      await first();
      const release = await second;
      expect(order).toEqual(["aborted", "second"]);
      await release();
      const free = await locks.tryAcquire(name);
      expect(free).toBeDefined();
      await free?.();
    });
  });
}

function broadcastChannel(name: string) {
  const channel = new BroadcastChannel(name);
  return {
    post: (message: unknown) => channel.postMessage(message),
    listen: (listener: (data: unknown) => void) => {
      channel.onmessage = (event: MessageEvent) => listener(event.data);
    },
    close: () => channel.close(),
  };
}
