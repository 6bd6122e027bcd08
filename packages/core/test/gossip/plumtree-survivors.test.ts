import { describe, expect, it } from "vitest";
import { DEFAULT_PLUMTREE_CONFIG, type PlumTreeConfig } from "../../src/gossip/config.ts";
import type { GossipPayloadMessage, TopicMessage } from "../../src/gossip/messages.ts";
import { messageKey, PlumTree, type PlumTreeTimer } from "../../src/gossip/plumtree.ts";
import { hash } from "../../src/hash.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import { nodeId } from "./helpers.ts";

// Behaviour of PlumTree (spec §5.3) that the first mutation run (docs/mutation.md) showed no test
// guarding: forgetting a neighbour that went down, broadcasting the same content twice, the edges
// of the window in which a new neighbour hears of recent messages, answering grafts, the graft and
// dispatch timers, and the counters the simulator's RMR bar is computed from.

function machine(config: Partial<PlumTreeConfig> = {}, maxIHaveEntries = 2) {
  const log = {
    sent: [] as { to: NodeId; message: TopicMessage }[],
    timers: [] as { delayMs: number; timer: PlumTreeTimer }[],
    delivered: [] as { message: GossipPayloadMessage; by: NodeId }[],
  };
  const tree = new PlumTree(
    { ...DEFAULT_PLUMTREE_CONFIG, ...config },
    { maxRound: 65_535, maxIHaveEntries },
    {
      send: (to, message) => log.sent.push({ to, message }),
      setTimer: (delayMs, timer) => log.timers.push({ delayMs, timer }),
      deliver: (message, by) => log.delivered.push({ message, by }),
    },
  );
  const to = (peer: NodeId) => log.sent.filter((s) => s.to === peer).map((s) => s.message);
  const timersOf = (kind: PlumTreeTimer["kind"]) => log.timers.filter((t) => t.timer.kind === kind);
  return { tree, log, to, timersOf };
}

/** A neighbour that pruned us: we only announce to it. */
function makeLazy(tree: PlumTree, peer: NodeId, now = 0): void {
  tree.neighbourUp(peer, now);
  tree.handleMessage(peer, { type: "prune" }, now);
}

const A = nodeId(1);
const B = nodeId(2);
const C = nodeId(3);
const D = nodeId(4);
const bytes = (text: string) => new TextEncoder().encode(text);
const gossipOf = (text: string, round = 0): GossipPayloadMessage => {
  const content = bytes(text);
  return { type: "gossip", id: hash(content), content, round };
};
const m1 = gossipOf("first");
const m2 = gossipOf("second");

describe("PlumTree: a neighbour that went down is forgotten", () => {
  it("an eager neighbour that went down gets no further messages", () => {
    const { tree, to } = machine();
    tree.neighbourUp(A, 0);
    tree.neighbourUp(B, 0);
    tree.neighbourDown(A);
    expect(tree.eagerPeers).toEqual([B]);
    tree.broadcast(m1.content, 1);
    tree.timerFired({ kind: "dispatch-ihave" }, 6);
    expect(to(A)).toEqual([]);
    expect(to(B)).toEqual([m1]);
  });

  it("a lazy neighbour that went down gets no further announcements", () => {
    const { tree, to } = machine();
    makeLazy(tree, A);
    tree.neighbourDown(A);
    expect(tree.lazyPeers).toEqual([]);
    tree.broadcast(m1.content, 1);
    tree.timerFired({ kind: "dispatch-ihave" }, 6);
    expect(to(A)).toEqual([]);
  });

  it("announcements queued for a neighbour are dropped when it goes down before the dispatch", () => {
    const { tree, to } = machine();
    makeLazy(tree, A);
    makeLazy(tree, B);
    tree.broadcast(m1.content, 1);
    tree.neighbourDown(A);
    tree.timerFired({ kind: "dispatch-ihave" }, 6);
    expect(to(A)).toEqual([]);
    expect(to(B)).toEqual([{ type: "ihave", entries: [[m1.id, 0]] }]);
  });

  it("a lazy neighbour that comes up again is eager only, not also lazy", () => {
    const { tree } = machine();
    makeLazy(tree, A);
    tree.neighbourUp(A, 1);
    expect(tree.eagerPeers).toEqual([A]);
    expect(tree.lazyPeers).toEqual([]);
  });
});

describe("PlumTree: broadcasting the same content twice sends it once", () => {
  it("the second broadcast returns the same id and sends nothing", () => {
    const { tree, log } = machine();
    tree.neighbourUp(A, 0);
    makeLazy(tree, B);
    const first = tree.broadcast(m1.content, 1);
    tree.timerFired({ kind: "dispatch-ihave" }, 6);
    const sentBefore = log.sent.length;
    const second = tree.broadcast(m1.content, 10);
    tree.timerFired({ kind: "dispatch-ihave" }, 16);
    expect(second).toEqual(first);
    expect(log.sent.length).toBe(sentBefore);
    expect(tree.metrics.payloadsSent).toBe(1);
  });
});

// The window of `announceRecentToNewNeighbourMs` (15 s): a neighbour that comes up at most 15 s
// after a failure hears of the messages received at most 15 s before it came up; both ends
// inclusive. A window of 0 turns it off, even for a message received at the same instant.
describe("PlumTree: recent messages announced to a new neighbour after a failure, at the edges", () => {
  const announced = (to: (peer: NodeId) => TopicMessage[], peer: NodeId) =>
    to(peer).flatMap((m) => (m.type === "ihave" ? m.entries.map(([id]) => messageKey(id)) : []));

  it("a neighbour up exactly 15 s after the failure still hears; 1 ms later it does not", () => {
    const { tree, to } = machine();
    tree.neighbourUp(A, 0);
    tree.handleMessage(A, m1, 10_000);
    tree.neighbourFailed(1_000);
    tree.neighbourUp(B, 16_000);
    tree.neighbourUp(C, 16_001);
    tree.timerFired({ kind: "dispatch-ihave" }, 16_005);
    expect(announced(to, B)).toEqual([messageKey(m1.id)]);
    expect(announced(to, C)).toEqual([]);
  });

  it("a message received exactly 15 s before the neighbour came up is announced; 1 ms older is not", () => {
    const { tree, to } = machine();
    tree.neighbourUp(A, 0);
    tree.handleMessage(A, m1, 999);
    tree.handleMessage(A, m2, 1_000);
    tree.neighbourFailed(15_000);
    tree.neighbourUp(B, 16_000);
    tree.timerFired({ kind: "dispatch-ihave" }, 16_005);
    expect(announced(to, B)).toEqual([messageKey(m2.id)]);
  });

  it("a window of 0 announces nothing, not even a message received at the instant of the failure", () => {
    const { tree, to, timersOf } = machine({ announceRecentToNewNeighbourMs: 0 });
    tree.neighbourUp(A, 0);
    tree.handleMessage(A, m1, 5_000);
    tree.neighbourFailed(5_000);
    tree.neighbourUp(B, 5_000);
    expect(timersOf("dispatch-ihave")).toEqual([]);
    tree.timerFired({ kind: "dispatch-ihave" }, 5_005);
    expect(to(B)).toEqual([]);
  });

  it("with nothing recent to announce, a new neighbour arms no dispatch timer", () => {
    const { tree, timersOf } = machine();
    tree.neighbourUp(A, 0);
    tree.handleMessage(A, m1, 0);
    tree.neighbourFailed(20_000);
    tree.neighbourUp(B, 20_000);
    expect(timersOf("dispatch-ihave")).toEqual([]);
  });

  it("two new neighbours share one dispatch timer, and it announces to both", () => {
    const { tree, to, timersOf } = machine();
    tree.neighbourUp(A, 0);
    tree.handleMessage(A, m1, 1_000);
    tree.neighbourFailed(2_000);
    tree.neighbourUp(B, 3_000);
    tree.neighbourUp(C, 3_001);
    expect(timersOf("dispatch-ihave")).toEqual([{ delayMs: 5, timer: { kind: "dispatch-ihave" } }]);
    tree.timerFired({ kind: "dispatch-ihave" }, 3_005);
    expect(announced(to, B)).toEqual([messageKey(m1.id)]);
    expect(announced(to, C)).toEqual([messageKey(m1.id)]);
  });
});

describe("PlumTree: grafts", () => {
  it("a graft without an id (tree optimisation) makes the link eager and sends nothing", () => {
    const { tree, log } = machine();
    makeLazy(tree, A);
    tree.broadcast(m1.content, 0);
    const sentBefore = log.sent.length;
    tree.handleMessage(A, { type: "graft", id: null, round: 3 }, 1);
    expect(tree.eagerPeers).toEqual([A]);
    expect(log.sent.length).toBe(sentBefore);
  });

  it("a graft for a message no longer cached makes the link eager and sends nothing", () => {
    const { tree, log } = machine();
    makeLazy(tree, A);
    tree.broadcast(m1.content, 0);
    tree.timerFired({ kind: "evict" }, 30_000);
    const sentBefore = log.sent.length;
    tree.handleMessage(A, { type: "graft", id: m1.id, round: 1 }, 30_001);
    tree.handleMessage(A, { type: "graft", id: m2.id, round: 1 }, 30_002);
    expect(tree.eagerPeers).toEqual([A]);
    expect(log.sent.length).toBe(sentBefore);
  });
});

describe("PlumTree: announcements and graft timers", () => {
  it("a neighbour that announces the same message twice is grafted once; the next announcer after it", () => {
    const { tree, log } = machine();
    makeLazy(tree, A);
    makeLazy(tree, B);
    tree.handleMessage(A, { type: "ihave", entries: [[m1.id, 1]] }, 0);
    tree.handleMessage(A, { type: "ihave", entries: [[m1.id, 1]] }, 1);
    tree.handleMessage(B, { type: "ihave", entries: [[m1.id, 2]] }, 2);
    const key = messageKey(m1.id);
    tree.timerFired({ kind: "graft", id: key }, 80);
    tree.timerFired({ kind: "graft", id: key }, 120);
    tree.timerFired({ kind: "graft", id: key }, 160);
    expect(log.sent.filter((s) => s.message.type === "graft")).toEqual([
      { to: A, message: { type: "graft", id: m1.id, round: 1 } },
      { to: B, message: { type: "graft", id: m1.id, round: 2 } },
    ]);
  });

  it("after the last announcer was grafted no further graft timer is armed", () => {
    const { tree, timersOf } = machine();
    makeLazy(tree, A);
    tree.handleMessage(A, { type: "ihave", entries: [[m1.id, 1]] }, 0);
    tree.timerFired({ kind: "graft", id: messageKey(m1.id) }, 80);
    expect(timersOf("graft")).toHaveLength(1);
  });

  it("an announcer arriving while the second graft timer runs waits for it (no new timer)", () => {
    const { tree, log, timersOf } = machine();
    for (const p of [A, B, C]) makeLazy(tree, p);
    const key = messageKey(m1.id);
    tree.handleMessage(A, { type: "ihave", entries: [[m1.id, 1]] }, 0);
    tree.handleMessage(B, { type: "ihave", entries: [[m1.id, 1]] }, 1);
    tree.timerFired({ kind: "graft", id: key }, 80);
    tree.handleMessage(C, { type: "ihave", entries: [[m1.id, 1]] }, 90);
    expect(timersOf("graft").map((t) => t.delayMs)).toEqual([80, 40]);
    tree.timerFired({ kind: "graft", id: key }, 120);
    expect(log.sent.filter((s) => s.message.type === "graft").map((s) => s.to)).toEqual([A, B]);
  });

  it("a message still missing after every announcer was grafted is grafted again from a later announcer", () => {
    const { tree, log, timersOf } = machine();
    makeLazy(tree, A);
    makeLazy(tree, B);
    const key = messageKey(m1.id);
    tree.handleMessage(A, { type: "ihave", entries: [[m1.id, 1]] }, 0);
    tree.timerFired({ kind: "graft", id: key }, 80);
    tree.handleMessage(B, { type: "ihave", entries: [[m1.id, 1]] }, 500);
    expect(timersOf("graft")).toHaveLength(2);
    tree.timerFired({ kind: "graft", id: key }, 580);
    expect(log.sent.filter((s) => s.message.type === "graft").map((s) => s.to)).toEqual([A, B]);
  });

  it("an announcer that is already eager is not grafted, and the eager sender is not pruned", () => {
    const { tree, log } = machine();
    tree.neighbourUp(A, 0);
    tree.neighbourUp(B, 0);
    // B still takes us for lazy and announces round 1; A delivers it at round 10 (9 hops later).
    tree.handleMessage(B, { type: "ihave", entries: [[m1.id, 1]] }, 0);
    tree.handleMessage(A, { ...m1, round: 10 }, 10);
    tree.handleMessage(B, { type: "ihave", entries: [[m1.id, 1]] }, 20);
    expect(log.sent.filter((s) => s.message.type !== "gossip")).toEqual([]);
    expect(tree.eagerPeers).toEqual([A, B]);
  });
});

describe("PlumTree: a new message from a lazy neighbour", () => {
  it("makes it eager again, and it gets neither the message nor an announcement back", () => {
    const { tree, to } = machine();
    makeLazy(tree, A);
    makeLazy(tree, B);
    tree.handleMessage(A, m1, 0);
    tree.timerFired({ kind: "dispatch-ihave" }, 5);
    expect(tree.eagerPeers).toEqual([A]);
    expect(to(A)).toEqual([]);
    expect(to(B)).toEqual([{ type: "ihave", entries: [[m1.id, 1]] }]);
  });
});

describe("PlumTree: each neighbour is on one side, and only neighbours are", () => {
  it("a parent swapped out by the tree optimisation is lazy only and gets no further payloads", () => {
    const { tree, to } = machine();
    tree.neighbourUp(A, 0);
    makeLazy(tree, B);
    tree.handleMessage(B, { type: "ihave", entries: [[m1.id, 1]] }, 0);
    tree.handleMessage(A, { ...m1, round: 10 }, 10);
    expect(tree.eagerPeers).toEqual([B]);
    expect(tree.lazyPeers).toEqual([A]);
    tree.broadcast(m2.content, 20);
    expect(to(A).filter((m) => m.type === "gossip")).toEqual([]);
  });

  it("a message or graft from a node that is not a neighbour does not make it one", () => {
    const { tree, to } = machine();
    tree.neighbourUp(A, 0);
    tree.handleMessage(C, m1, 0);
    tree.handleMessage(D, { type: "graft", id: m1.id, round: 1 }, 1);
    expect(tree.eagerPeers).toEqual([A]);
    expect(tree.lazyPeers).toEqual([]);
    tree.broadcast(m2.content, 2);
    expect(to(C)).toEqual([]);
    expect(to(D).filter((m) => m.type === "gossip" && m.id === m2.id)).toEqual([]);
  });
});

describe("PlumTree: ihave batching and the dispatch timer", () => {
  it("with only eager neighbours no dispatch timer is armed", () => {
    const { tree, timersOf } = machine();
    tree.neighbourUp(A, 0);
    tree.broadcast(m1.content, 0);
    expect(timersOf("dispatch-ihave")).toEqual([]);
  });

  it("one dispatch timer per batch; the next message after a dispatch arms it again", () => {
    const { tree, timersOf } = machine();
    makeLazy(tree, A);
    tree.broadcast(m1.content, 0);
    tree.broadcast(m2.content, 1);
    expect(timersOf("dispatch-ihave")).toEqual([{ delayMs: 5, timer: { kind: "dispatch-ihave" } }]);
    tree.timerFired({ kind: "dispatch-ihave" }, 5);
    tree.broadcast(bytes("third"), 6);
    expect(timersOf("dispatch-ihave")).toHaveLength(2);
  });

  it("a dispatch sends each queued entry once: full batches, no empty one, nothing again later", () => {
    const { tree, to } = machine();
    makeLazy(tree, A);
    const queued = ["a", "b", "c", "d"].map((t) => [tree.broadcast(bytes(t), 0), 0]);
    tree.timerFired({ kind: "dispatch-ihave" }, 5);
    tree.broadcast(m1.content, 6);
    tree.timerFired({ kind: "dispatch-ihave" }, 11);
    expect(to(A)).toEqual([
      { type: "ihave", entries: queued.slice(0, 2) },
      { type: "ihave", entries: queued.slice(2, 4) },
      { type: "ihave", entries: [[m1.id, 0]] },
    ]);
  });
});

describe("PlumTree: the eviction timer runs only while something is remembered", () => {
  it("one evict timer for many messages, re-armed while ids are held, stopped when none is, armed again by the next", () => {
    const { tree, timersOf } = machine();
    const evict = { delayMs: 1_000, timer: { kind: "evict" } };
    tree.broadcast(m1.content, 0);
    tree.broadcast(m2.content, 1);
    expect(timersOf("evict")).toEqual([evict]);
    tree.timerFired({ kind: "evict" }, 1_000);
    expect(timersOf("evict")).toEqual([evict, evict]);
    tree.broadcast(bytes("third"), 1_001);
    expect(timersOf("evict")).toHaveLength(2);
    tree.timerFired({ kind: "evict" }, 100_000);
    expect(tree.hasSeen(messageKey(m1.id))).toBe(false);
    expect(timersOf("evict")).toHaveLength(2);
    tree.broadcast(bytes("fourth"), 100_001);
    expect(timersOf("evict")).toHaveLength(3);
  });
});

describe("PlumTree: metrics count what was sent and received", () => {
  it("payloads, deliveries, duplicates, grafts, prunes and ihave entries", () => {
    const { tree } = machine();
    expect(tree.metrics).toEqual({
      payloadsSent: 0,
      delivered: 0,
      duplicates: 0,
      graftsSent: 0,
      prunesSent: 0,
      ihaveEntriesSent: 0,
    });
    tree.neighbourUp(A, 0);
    tree.neighbourUp(B, 0);
    makeLazy(tree, C);
    makeLazy(tree, D);
    // A delivers m1: forwarded to B (1 payload), announced to C and D (2 ihave entries).
    tree.handleMessage(A, m1, 0);
    // B sends it again: a duplicate, B is pruned (1 prune).
    tree.handleMessage(B, m1, 1);
    tree.timerFired({ kind: "dispatch-ihave" }, 5);
    // D grafts m1 from us: answered from the cache (2 payloads), D is eager.
    tree.handleMessage(D, { type: "graft", id: m1.id, round: 1 }, 6);
    // C announces m2 and is grafted for it when the timer fires (1 graft); A and C prune us.
    tree.handleMessage(C, { type: "ihave", entries: [[m2.id, 0]] }, 10);
    tree.timerFired({ kind: "graft", id: messageKey(m2.id) }, 90);
    tree.handleMessage(A, { type: "prune" }, 91);
    tree.handleMessage(C, { type: "prune" }, 91);
    // C announces m2 at round 0 again, D delivers it at round 20: the parent is swapped
    // (graft C, prune D: 2 grafts, 2 prunes); D was our only eager link, so no payload.
    tree.handleMessage(C, { type: "ihave", entries: [[m2.id, 0]] }, 92);
    tree.handleMessage(D, { ...m2, round: 20 }, 100);
    expect(tree.metrics).toEqual({
      payloadsSent: 2,
      delivered: 2,
      duplicates: 1,
      graftsSent: 2,
      prunesSent: 2,
      ihaveEntriesSent: 2,
    });
  });
});
