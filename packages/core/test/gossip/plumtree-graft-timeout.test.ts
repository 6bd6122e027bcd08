import { describe, expect, it } from "vitest";
import { DEFAULT_PLUMTREE_CONFIG } from "../../src/gossip/config.ts";
import type { GossipPayloadMessage, TopicMessage } from "../../src/gossip/messages.ts";
import { messageKey, PlumTree, type PlumTreeTimer } from "../../src/gossip/plumtree.ts";
import { hash } from "../../src/hash.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import { nodeId } from "./helpers.ts";

const E = nodeId(1);
const A = nodeId(2);
const B = nodeId(3);

const message = (i: number): GossipPayloadMessage => {
  const content = new TextEncoder().encode(`message ${i}`);
  return { type: "gossip", id: hash(content), content, round: 3 };
};

/**
 * A PlumTree with eager neighbour E and lazy neighbours A and B, driven by a virtual clock that
 * fires its timers when they are due, as the service and the simulator do.
 */
function driven() {
  const sent: { to: NodeId; message: TopicMessage; at: number }[] = [];
  const timers: { at: number; timer: PlumTreeTimer; delayMs: number }[] = [];
  let now = 0;
  const tree = new PlumTree(
    DEFAULT_PLUMTREE_CONFIG,
    { maxRound: 65_535, maxIHaveEntries: 256 },
    {
      send: (to, m) => sent.push({ to, message: m, at: now }),
      setTimer: (delayMs, timer) => timers.push({ at: now + delayMs, timer, delayMs }),
      deliver: () => {},
    },
  );
  for (const p of [E, A, B]) tree.neighbourUp(p, 0);
  tree.handleMessage(A, { type: "prune" }, 0);
  tree.handleMessage(B, { type: "prune" }, 0);
  /** Runs the clock to `t`, firing due graft timers in order. */
  const advance = (t: number) => {
    for (;;) {
      timers.sort((x, y) => x.at - y.at);
      const due = timers.findIndex((x) => x.at <= t && x.timer.kind === "graft");
      if (due < 0) break;
      const [timer] = timers.splice(due, 1);
      now = Math.max(now, timer!.at);
      tree.timerFired(timer!.timer, now);
    }
    now = t;
  };
  const at = (t: number, from: NodeId, m: TopicMessage) => {
    advance(t);
    tree.handleMessage(from, m, t);
  };
  const graftsFor = (m: GossipPayloadMessage) =>
    sent.filter(
      (s) =>
        s.message.type === "graft" &&
        s.message.id !== null &&
        messageKey(s.message.id) === messageKey(m.id),
    );
  const waitsFor = (m: GossipPayloadMessage) =>
    timers.concat([]).filter((x) => x.timer.kind === "graft" && x.timer.id === messageKey(m.id));
  return { tree, sent, timers, at, advance, graftsFor, waitsFor };
}

/** A announces message i at `t`; E delivers it `eagerAfter` ms later. A stays lazy. */
function announcedThenEager(
  d: ReturnType<typeof driven>,
  i: number,
  t: number,
  eagerAfter: number,
) {
  const m = message(i);
  d.at(t, A, { type: "ihave", entries: [[m.id, 1]] });
  d.at(t + eagerAfter, E, m);
  // A has not answered (it is slow too); it prunes us back so it stays a lazy announcer.
  d.at(t + eagerAfter, A, { type: "prune" });
  return m;
}

// The graft timer exists to recover a message lost on the eager path. With a fixed 80 ms, a lazy
// neighbour is grafted whenever the eager path is merely slower than 80 ms (10–100 ms links, a
// tree many hops deep): a payload for nothing, and the tree reshaped. The wait is measured.
describe("PlumTree: the graft timeout fits the delays measured on this node's links", () => {
  it("no graft once eager copies are known to take 300 ms after an announcement: the wait grew past them, up to 1 s", () => {
    const d = driven();
    const grafted: number[] = [];
    for (let i = 0; i < 30; i++) {
      const m = announcedThenEager(d, i, i * 2_000, 300);
      grafted.push(d.graftsFor(m).length);
    }
    // At first (80 ms, then more) the announcer is grafted; the expired waits and the eager
    // copies' 300 ms raise the wait until the eager path is given its time.
    expect(grafted[0]).toBe(1);
    expect(grafted.slice(-10)).toEqual(new Array(10).fill(0));
    const wait = d.tree.graftTimeouts().first;
    expect(wait).toBeGreaterThan(300);
    expect(wait).toBeLessThanOrEqual(DEFAULT_PLUMTREE_CONFIG.graftTimeoutMaxMs);
  });

  it("eager copies 20 ms after their announcement keep the wait at the least, 80 ms", () => {
    const d = driven();
    for (let i = 0; i < 10; i++) announcedThenEager(d, i, i * 2_000, 20);
    expect(d.sent.filter((s) => s.message.type === "graft")).toEqual([]);
    expect(d.tree.graftTimeouts().first).toBe(80);
    const m = message(99);
    d.at(50_000, A, { type: "ihave", entries: [[m.id, 1]] });
    expect(d.waitsFor(m).map((w) => w.delayMs)).toEqual([80]);
  });

  it("a late eager copy after an answered graft is measured: the wait grows more than without it", () => {
    const waitAfter = (lateCopy: boolean) => {
      const d = driven();
      const m = message(1);
      d.at(0, A, { type: "ihave", entries: [[m.id, 1]] });
      d.advance(80);
      expect(d.graftsFor(m)).toHaveLength(1);
      d.at(150, A, { ...m, round: 1 });
      if (lateCopy) d.at(600, E, m);
      return d.tree.graftTimeouts().first;
    };
    expect(waitAfter(true)).toBeGreaterThan(waitAfter(false));
  });

  it("the next announcer is grafted after the measured round trip of grafts to the first", () => {
    const d = driven();
    // A answers a graft after 150 ms.
    const first = message(1);
    d.at(0, A, { type: "ihave", entries: [[first.id, 1]] });
    d.advance(80);
    d.at(230, A, { ...first, round: 1 });
    d.at(231, A, { type: "prune" });
    expect(d.tree.graftTimeouts(A).next).toBe(450);
    // B has no round trip measured: it waits on what all links measured.
    expect(d.tree.graftTimeouts(B).next).toBe(450);
    // Now A and B announce; A is grafted first, and B only after A had 450 ms to answer.
    const second = message(2);
    d.at(10_000, A, { type: "ihave", entries: [[second.id, 1]] });
    d.at(10_001, B, { type: "ihave", entries: [[second.id, 1]] });
    const wait = d.tree.graftTimeouts().first;
    d.advance(10_000 + wait);
    expect(d.graftsFor(second).map((g) => g.to)).toEqual([A]);
    expect(d.waitsFor(second).at(-1)?.delayMs).toBe(450);
    d.advance(10_000 + wait + 449);
    expect(d.graftsFor(second).map((g) => g.to)).toEqual([A]);
    d.advance(10_000 + wait + 450);
    expect(d.graftsFor(second).map((g) => g.to)).toEqual([A, B]);
  });
});
