import { describe, expect, it } from "vitest";
import { DEFAULT_PLUMTREE_CONFIG } from "../../src/gossip/config.ts";
import type { GossipPayloadMessage, TopicMessage } from "../../src/gossip/messages.ts";
import { messageKey, PlumTree, type PlumTreeTimer } from "../../src/gossip/plumtree.ts";
import { hash } from "../../src/hash.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import { nodeId } from "./helpers.ts";

function machine() {
  const log = {
    sent: [] as { to: NodeId; message: TopicMessage }[],
    timers: [] as { delayMs: number; timer: PlumTreeTimer }[],
    delivered: [] as { message: GossipPayloadMessage; by: NodeId }[],
  };
  const tree = new PlumTree(
    { ...DEFAULT_PLUMTREE_CONFIG },
    { maxRound: 65535, maxIHaveEntries: 2 },
    {
      send: (to, message) => log.sent.push({ to, message }),
      setTimer: (delayMs, timer) => log.timers.push({ delayMs, timer }),
      deliver: (message, by) => log.delivered.push({ message, by }),
    },
  );
  return { tree, log };
}

const A = nodeId(1);
const B = nodeId(2);
const C = nodeId(3);
const content = new TextEncoder().encode("payload");
const gossip: GossipPayloadMessage = { type: "gossip", id: hash(content), content, round: 0 };

describe("PlumTree: eager push and pruning", () => {
  it("new neighbours are eager; a message is forwarded eagerly with round + 1", () => {
    const { tree, log } = machine();
    for (const p of [A, B, C]) tree.neighbourUp(p, 0);
    tree.handleMessage(A, gossip, 0);
    expect(log.delivered).toEqual([{ message: gossip, by: A }]);
    expect(log.sent.filter((s) => s.message.type === "gossip").map((s) => s.to)).toEqual([B, C]);
    expect(log.sent[0]?.message).toMatchObject({ round: 1 });
  });

  it("a duplicate is not delivered again; its sender is pruned to lazy and gets ihave instead", () => {
    const { tree, log } = machine();
    for (const p of [A, B]) tree.neighbourUp(p, 0);
    tree.handleMessage(A, gossip, 0);
    tree.handleMessage(B, { ...gossip, round: 3 }, 1);
    expect(log.delivered).toHaveLength(1);
    expect(log.sent.at(-1)).toEqual({ to: B, message: { type: "prune" } });
    expect(tree.lazyPeers).toEqual([B]);
    const next = new TextEncoder().encode("next");
    tree.broadcast(next, 2);
    expect(log.sent.filter((s) => s.to === B && s.message.type === "gossip")).toHaveLength(1);
    expect(log.timers.some((t) => t.timer.kind === "dispatch-ihave")).toBe(true);
    tree.timerFired({ kind: "dispatch-ihave" }, 7);
    expect(log.sent.at(-1)).toEqual({
      to: B,
      message: { type: "ihave", entries: [[hash(next), 0]] },
    });
  });

  it("after a neighbour failed, a new neighbour hears (ihave) of the last 15 s of messages", () => {
    const { tree, log } = machine();
    tree.neighbourUp(A, 0);
    const old = new TextEncoder().encode("old");
    tree.handleMessage(A, { type: "gossip", id: hash(old), content: old, round: 0 }, 0);
    tree.handleMessage(A, gossip, 14_000);
    // A plain join: nothing old is announced.
    tree.neighbourUp(C, 14_500);
    tree.timerFired({ kind: "dispatch-ihave" }, 14_505);
    expect(log.sent.filter((s) => s.to === C)).toEqual([]);
    tree.neighbourFailed(15_000);
    tree.neighbourUp(B, 16_000);
    expect(log.sent.filter((s) => s.to === B)).toEqual([]);
    tree.timerFired({ kind: "dispatch-ihave" }, 16_005);
    expect(log.sent.filter((s) => s.to === B)).toEqual([
      { to: B, message: { type: "ihave", entries: [[gossip.id, 0]] } },
    ]);
  });

  it("announcing recent messages to new neighbours can be turned off", () => {
    const log: TopicMessage[] = [];
    const tree = new PlumTree(
      { ...DEFAULT_PLUMTREE_CONFIG, announceRecentToNewNeighbourMs: 0 },
      { maxRound: 65535, maxIHaveEntries: 2 },
      { send: (_to, message) => log.push(message), setTimer: () => {}, deliver: () => {} },
    );
    tree.neighbourUp(A, 0);
    tree.handleMessage(A, gossip, 0);
    tree.neighbourFailed(1);
    tree.neighbourUp(B, 1);
    tree.timerFired({ kind: "dispatch-ihave" }, 6);
    expect(log.some((m) => m.type === "ihave")).toBe(false);
  });

  it("a prune makes the link lazy", () => {
    const { tree } = machine();
    tree.neighbourUp(A, 0);
    tree.handleMessage(A, { type: "prune" }, 0);
    expect(tree.eagerPeers).toEqual([]);
    expect(tree.lazyPeers).toEqual([A]);
  });
});

describe("PlumTree: ihave and graft", () => {
  it("ihave for an unknown id arms graft timeout 1; on expiry the announcer is grafted, then the next after timeout 2", () => {
    const { tree, log } = machine();
    for (const p of [A, B]) {
      tree.neighbourUp(p, 0);
      tree.handleMessage(p, { type: "prune" }, 0);
    }
    tree.handleMessage(A, { type: "ihave", entries: [[gossip.id, 2]] }, 0);
    tree.handleMessage(B, { type: "ihave", entries: [[gossip.id, 4]] }, 1);
    const key = messageKey(gossip.id);
    expect(log.timers).toEqual([{ delayMs: 80, timer: { kind: "graft", id: key } }]);
    tree.timerFired({ kind: "graft", id: key }, 80);
    expect(log.sent.at(-1)).toEqual({ to: A, message: { type: "graft", id: gossip.id, round: 2 } });
    expect(tree.eagerPeers).toEqual([A]);
    expect(log.timers.at(-1)).toEqual({ delayMs: 40, timer: { kind: "graft", id: key } });
    tree.timerFired({ kind: "graft", id: key }, 120);
    expect(log.sent.at(-1)).toEqual({ to: B, message: { type: "graft", id: gossip.id, round: 4 } });
  });

  it("no graft once the message arrived in time", () => {
    const { tree, log } = machine();
    tree.neighbourUp(A, 0);
    tree.handleMessage(A, { type: "prune" }, 0);
    tree.handleMessage(A, { type: "ihave", entries: [[gossip.id, 0]] }, 0);
    tree.handleMessage(C, gossip, 10);
    tree.timerFired({ kind: "graft", id: messageKey(gossip.id) }, 80);
    expect(log.sent.some((s) => s.message.type === "graft")).toBe(false);
    expect(log.delivered).toHaveLength(1);
  });

  it("a graft is answered from the cache and makes the link eager", () => {
    const { tree, log } = machine();
    tree.neighbourUp(A, 0);
    tree.handleMessage(A, { type: "prune" }, 0);
    tree.broadcast(content, 0);
    tree.handleMessage(A, { type: "graft", id: gossip.id, round: 1 }, 5);
    expect(log.sent.at(-1)).toEqual({ to: A, message: { ...gossip, round: 1 } });
    expect(tree.eagerPeers).toEqual([A]);
  });

  it("ihave batches longer than maxIHaveEntries are split", () => {
    const { tree, log } = machine();
    tree.neighbourUp(A, 0);
    tree.handleMessage(A, { type: "prune" }, 0);
    for (let i = 0; i < 5; i++) tree.broadcast(new Uint8Array([i]), 0);
    tree.timerFired({ kind: "dispatch-ihave" }, 5);
    const sizes = log.sent
      .filter((s) => s.message.type === "ihave")
      .map((s) => (s.message.type === "ihave" ? s.message.entries.length : 0));
    expect(sizes).toEqual([2, 2, 1]);
  });
});

describe("PlumTree: caches", () => {
  it("the payload cache is evicted after 30 s and ids after 90 s; an old id is then new again", () => {
    const { tree, log } = machine();
    tree.broadcast(content, 0);
    const key = messageKey(gossip.id);
    expect(log.timers).toContainEqual({ delayMs: 1000, timer: { kind: "evict" } });
    tree.timerFired({ kind: "evict" }, 29_000);
    expect(tree.cachedMessages).toBe(1);
    tree.timerFired({ kind: "evict" }, 30_000);
    expect(tree.cachedMessages).toBe(0);
    expect(tree.hasSeen(key)).toBe(true);
    tree.handleMessage(A, gossip, 31_000);
    expect(log.delivered).toHaveLength(0);
    tree.timerFired({ kind: "evict" }, 90_000);
    expect(tree.hasSeen(key)).toBe(false);
    tree.handleMessage(A, gossip, 91_000);
    expect(log.delivered).toHaveLength(1);
  });
});
