import { afterEach, describe, expect, it } from "vitest";
import { toHex } from "../../src/bytes.ts";
import { ProtocolName } from "../../src/ids/network-id.ts";
import { Topic } from "../../src/ids/topic.ts";
import { type Runtime, systemRuntime, VirtualRuntime } from "../../src/runtime/runtime.ts";
import { encodeSyncMessage } from "../../src/sync/messages.ts";
import type { Operation } from "../../src/sync/operation.ts";
import { MemoryLogStore } from "../../src/sync/store/memory.ts";
import type { SyncHandle } from "../../src/sync/sync-handle.ts";
import { syncGossipTopic } from "../../src/sync/sync-service.ts";
import { validateOperation } from "../../src/sync/validation.ts";
import { receivedText } from "../gossip/service-helpers.ts";
import { seededIdentity } from "./helpers.ts";
import {
  holds,
  nextSyncEvent,
  SyncCluster,
  type SyncNode,
  text,
  untext,
} from "./service-helpers.ts";

const topic = Topic.fromName("sync-service");
let cluster: SyncCluster;

afterEach(async () => {
  await cluster?.stop();
});

async function ids(handle: SyncHandle): Promise<string[]> {
  return (await handle.operations()).map((op) => toHex(op.hash)).sort();
}

/** Checks a log as stored: seq 0..n-1, each valid against its predecessor. */
async function expectValidLog(ops: readonly Operation[], count: number): Promise<void> {
  expect(ops.map((op) => op.header.seqNum)).toEqual([...Array(count).keys()]);
  let previous: Operation | undefined;
  for (const op of ops) {
    await validateOperation(op, previous);
    previous = op;
  }
}

describe("sync service (upstream manager inventory)", () => {
  it("manager_e2e: two nodes exchange what each wrote before they met", async () => {
    cluster = new SyncCluster();
    const [a, b] = [await cluster.add(), await cluster.add()];
    const ha = await a.sync.stream(topic, { liveMode: false });
    const hb = await b.sync.stream(topic, { liveMode: false });
    await ha.publish(text("a0"));
    await ha.publish(text("a1"));
    await hb.publish(text("b0"));
    await cluster.meshKnown(topic);
    await Promise.all([holds(ha, 3), holds(hb, 3)]);
    expect(await ids(ha)).toEqual(await ids(hb));
    // Non-live sessions are removed once finished (upstream kept them forever).
    await expect.poll(() => a.sync.sessions().length + b.sync.sessions().length).toBe(0);
  });

  it("live mode: a new operation reaches a live peer without a new session", async () => {
    cluster = new SyncCluster();
    const [a, b] = [await cluster.add(), await cluster.add()];
    const ha = await a.sync.stream(topic);
    const hb = await b.sync.stream(topic);
    await cluster.meshKnown(topic);
    await Promise.all([
      nextSyncEvent(a, (e) => e.type === "sync:live-started"),
      nextSyncEvent(b, (e) => e.type === "sync:live-started"),
    ]);
    const sessions = a.sync.metrics.sessionsInitiated + b.sync.metrics.sessionsInitiated;
    const arrived = nextSyncEvent(b, (e) => e.type === "sync:operation-received");
    const op = await ha.publish(text("live!"));
    const event = await arrived;
    expect(event).toMatchObject({ phase: "live", remote: a.id });
    if (event.type === "sync:operation-received") expect(event.operation.hash).toEqual(op.hash);
    expect(a.sync.metrics.sessionsInitiated + b.sync.metrics.sessionsInitiated).toBe(sessions);
    expect(untext((await hb.operations())[0]?.body)).toBe("live!");
  });

  it("live_mode_three_peer_forwarding: A's operation reaches C through B when A and C cannot connect", async () => {
    cluster = new SyncCluster();
    const [a, b, c] = [await cluster.add(), await cluster.add(), await cluster.add()];
    cluster.network.setReachable(a.id, c.id, false);
    await cluster.gossip.learn(a, b, topic);
    await cluster.gossip.learn(c, b, topic);
    const [ha, hb, hc] = [
      await a.sync.stream(topic),
      await b.sync.stream(topic),
      await c.sync.stream(topic),
    ];
    await expect.poll(() => b.sync.sessions().filter((s) => s.phase === "live").length).toBe(2);
    const op = await ha.publish(text("via b"));
    await holds(hc, 1);
    expect((await hc.operations())[0]?.hash).toEqual(op.hash);
    expect(b.sync.metrics.operationsForwarded).toBeGreaterThanOrEqual(1);
    expect(await ids(hb)).toEqual(await ids(hc));
  });

  it("a session's progress says how many operations each side lacked once heights were compared", async () => {
    cluster = new SyncCluster();
    const [a, b] = [await cluster.add(), await cluster.add()];
    const ha = await a.sync.stream(topic);
    const hb = await b.sync.stream(topic);
    for (const line of ["a0", "a1", "a2"]) await ha.publish(text(line));
    await hb.publish(text("b0"));
    await cluster.meshKnown(topic);
    const live = () =>
      [a, b].map((n) => n.sync.sessions().filter((s) => s.phase === "live").length);
    await expect.poll(live).toEqual([1, 1]);
    // a held 3 operations b lacked, b held 1 that a lacked: the same numbers from either side.
    const [fromA] = a.sync.sessions();
    const [fromB] = b.sync.sessions();
    expect(fromA?.progress).toEqual({ behind: 1, received: 1, ahead: 3, sent: 3 });
    expect(fromB?.progress).toEqual({ behind: 3, received: 3, ahead: 1, sent: 1 });
  });

  it("failed_sync_session_retry: a failed session is retried after the delay", async () => {
    cluster = new SyncCluster();
    const failing = new MemoryLogStore();
    let failures = 1;
    const heights = failing.heights.bind(failing);
    failing.heights = async (logs) => {
      if (failures-- > 0) throw new Error("disk hiccup");
      return heights(logs);
    };
    // The retry waits in virtual time.
    const runtime = new VirtualRuntime();
    const a = await cluster.add({ retryDelayMs: 50, runtime });
    const b = await cluster.add({ logStore: failing, retryDelayMs: 50, runtime });
    const ha = await a.sync.stream(topic, { liveMode: false });
    const hb = await b.sync.stream(topic, { liveMode: false });
    await ha.publish(text("after retry"));
    const initiator = a.id < b.id ? a : b;
    const retry = nextSyncEvent(initiator, (e) => e.type === "sync:retry-scheduled");
    await cluster.meshKnown(topic);
    await retry;
    expect(initiator.sync.metrics.retries).toBe(0);
    await runtime.advance(50);
    await holds(hb, 1);
    expect(initiator.sync.metrics.retries).toBe(1);
    expect(initiator.sync.metrics.sessionsFailed).toBeGreaterThanOrEqual(1);
  });

  it("unsubscribe_from_gossip_after_drop: closing the last handle leaves the derived overlay", async () => {
    cluster = new SyncCluster();
    const [a, b] = [await cluster.add(), await cluster.add()];
    const ha = await a.sync.stream(topic);
    const second = await a.sync.stream(topic);
    await b.sync.stream(topic);
    await cluster.meshKnown(topic);
    await nextSyncEvent(a, (e) => e.type === "sync:live-started");
    expect(a.gossip.topics).toEqual([syncGossipTopic(topic)]);
    await ha.close();
    expect(a.gossip.topics).toEqual([syncGossipTopic(topic)]);
    const ended = nextSyncEvent(
      b,
      (e) => e.type === "sync:live-finished" || e.type === "sync:failed",
    );
    await second.close();
    await ended;
    expect(a.gossip.topics).toEqual([]);
    expect(a.sync.topics).toEqual([]);
    expect(a.book.nodeTopics(a.id).has(topic)).toBe(false);
    await expect(second.publish(text("x"))).rejects.toThrow(/closed/);
  });

  it("gossip_and_sync_with_same_topic do not interfere", async () => {
    cluster = new SyncCluster();
    const [a, b] = [await cluster.add(), await cluster.add()];
    const ga = await a.gossip.stream(topic);
    const gb = await b.gossip.stream(topic);
    const ha = await a.sync.stream(topic);
    const hb = await b.sync.stream(topic);
    expect(syncGossipTopic(topic)).not.toBe(topic);
    await cluster.meshKnown(topic);
    await Promise.all([ga.joined(), gb.joined()]);
    const gossiped = receivedText(gb, "ephemeral");
    await ga.publish(text("ephemeral"));
    await gossiped;
    await ha.publish(text("durable"));
    await holds(hb, 1);
    expect((await hb.operations()).map((op) => untext(op.body))).toEqual(["durable"]);
    // Closing gossip keeps the topic announced while sync still needs it.
    await ga.close();
    expect(a.book.nodeTopics(a.id).has(topic)).toBe(true);
  });
});

describe("sync service: offline catch-up", () => {
  it("A writes 500 operations while B is offline; B comes online and holds all, verified, in log order", async () => {
    cluster = new SyncCluster();
    const [a, b] = [await cluster.add(), await cluster.add()];
    await cluster.meshKnown(topic);
    cluster.network.setOffline(b.id, true);
    const ha = await a.sync.stream(topic, { liveMode: false });
    for (let i = 0; i < 500; i++) await ha.publish(text(`op ${i}`));
    cluster.network.setOffline(b.id, false);
    const hb = await b.sync.stream(topic, { liveMode: false });
    await holds(hb, 500, 20_000);
    const ops = await b.logStore.range(a.identity.nodeId, ha.logId);
    await expectValidLog(ops, 500);
    expect(ops.map((op) => untext(op.body))).toEqual([...Array(500).keys()].map((i) => `op ${i}`));
  });

  it("three nodes with disjoint writes converge to the same set", async () => {
    cluster = new SyncCluster();
    const nodes: SyncNode[] = [await cluster.add(), await cluster.add(), await cluster.add()];
    const handles = await Promise.all(nodes.map((n) => n.sync.stream(topic)));
    for (const [i, h] of handles.entries()) {
      for (let j = 0; j < 20; j++) await h.publish(text(`${i}/${j}`));
    }
    await cluster.meshKnown(topic);
    await Promise.all(handles.map((h) => holds(h, 60)));
    const sets = await Promise.all(handles.map(ids));
    expect(sets[0]).toHaveLength(60);
    expect(sets[1]).toEqual(sets[0]);
    expect(sets[2]).toEqual(sets[0]);
  });

  it("a node that went offline mid-live catches up on what it missed when it is back", async () => {
    cluster = new SyncCluster();
    const [a, b] = [await cluster.add(), await cluster.add()];
    const ha = await a.sync.stream(topic);
    const hb = await b.sync.stream(topic);
    await cluster.meshKnown(topic);
    await ha.publish(text("before"));
    await holds(hb, 1);
    cluster.network.setOffline(b.id, true);
    for (let i = 0; i < 10; i++) await ha.publish(text(`missed ${i}`));
    cluster.network.setOffline(b.id, false);
    await holds(hb, 11, 20_000);
    await expectValidLog(await b.logStore.range(a.identity.nodeId, ha.logId), 11);
  });
});

describe("sync service: bad input", () => {
  it("a peer that sends garbage on the sync protocol fails only that session", async () => {
    cluster = new SyncCluster();
    const [a, b, mallory] = [await cluster.add(), await cluster.add(), await cluster.add()];
    const ha = await a.sync.stream(topic);
    const hb = await b.sync.stream(topic);
    const evil = await cluster.network.endpoint(mallory.id).connect(a.id, ProtocolName.logSync);
    const failed = nextSyncEvent(a, (e) => e.type === "sync:failed");
    await evil.send({ not: "a sync message" });
    expect(await failed).toMatchObject({ type: "sync:failed" });
    // The service goes on: a and b still sync.
    await cluster.meshKnown(topic);
    await ha.publish(text("fine"));
    await holds(hb, 1);
  });

  it("when every accepted slot is taken, a new session evicts the oldest still in its handshake", async () => {
    cluster = new SyncCluster();
    const a = await cluster.add();
    await a.sync.stream(topic);
    const channels = [];
    for (let i = 0; i < 65; i++) {
      channels.push(await cluster.network.endpoint(a.id).connect(a.id, ProtocolName.logSync));
    }
    await expect.poll(() => a.sync.metrics.sessionsEvicted).toBe(1);
    expect(a.sync.metrics.sessionsRefused).toBe(0);
    await expect(channels[0]?.receive()).rejects.toMatchObject({ code: "SYNC_SESSION_EVICTED" });
    for (const c of channels) c.abort(new Error("done"));
  });

  it("sessions past their handshake are never evicted: beyond the cap, new ones are refused with a typed error", async () => {
    cluster = new SyncCluster();
    const a = await cluster.add();
    await a.sync.stream(topic);
    const channels = [];
    for (let i = 0; i < 64; i++) {
      // One session per peer and topic: each needs an identity of its own.
      const peer = (await seededIdentity(100 + i)).nodeId;
      const channel = await cluster.network.endpoint(peer).connect(a.id, ProtocolName.logSync);
      await channel.send(encodeSyncMessage({ type: "topic", topic }));
      expect(await channel.receive()).toEqual(encodeSyncMessage({ type: "done" }));
      channels.push(channel);
    }
    const extra = await cluster.network.endpoint(a.id).connect(a.id, ProtocolName.logSync);
    await expect(extra.receive()).rejects.toMatchObject({ code: "SYNC_SESSION_REFUSED" });
    expect(a.sync.metrics.sessionsRefused).toBe(1);
    expect(a.sync.metrics.sessionsEvicted).toBe(0);
    for (const c of channels) c.abort(new Error("done"));
  });
});

describe("no session task can reject unhandled: whatever throws around a session is caught", () => {
  it("a plain TypeError after a session ended is counted as an internal error, not an unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      // A bug in a collaborator the service calls after a session ended: the timers it
      // schedules the retry on.
      let broken = false;
      const runtime: Runtime = {
        ...systemRuntime,
        timers: {
          after: (delayMs, run) => {
            if (broken) throw new TypeError("a bug in a collaborator");
            return systemRuntime.timers.after(delayMs, run);
          },
          every: (intervalMs, run) => systemRuntime.timers.every(intervalMs, run),
        },
      };
      cluster = new SyncCluster();
      const [n1, n2] = [await cluster.add({ runtime }), await cluster.add({ runtime })];
      // `a` has the smaller id: it initiates, so the failing code runs in its #initiate task.
      const [a, b] = n1.id < n2.id ? [n1, n2] : [n2, n1];
      await a.sync.stream(topic);
      const hb = await b.sync.stream(topic);
      await cluster.meshKnown(topic);
      await nextSyncEvent(a, (e) => e.type === "sync:live-started");
      broken = true;
      // The session fails (our store, so b stays a neighbour); deciding on a retry then
      // schedules a timer on the (broken) runtime.
      a.logStore.putMany = () => Promise.reject(new Error("disk gone"));
      await hb.publish(text("cannot be stored"));
      await expect.poll(() => a.sync.metrics.internalErrors).toBe(1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
