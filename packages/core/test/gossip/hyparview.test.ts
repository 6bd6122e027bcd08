import { describe, expect, it } from "vitest";
import { DEFAULT_HYPARVIEW_CONFIG } from "../../src/gossip/config.ts";
import { HyParView, type HyParViewTimer } from "../../src/gossip/hyparview.ts";
import type { TopicMessage } from "../../src/gossip/messages.ts";
import { NodeId } from "../../src/ids/node-id.ts";
import { seededRng } from "../../src/random.ts";
import { nodeId } from "./helpers.ts";

function machine(me = 0) {
  const log = {
    sent: [] as { to: NodeId; message: TopicMessage }[],
    timers: [] as HyParViewTimer[],
    up: [] as NodeId[],
    down: [] as NodeId[],
    disconnected: [] as NodeId[],
  };
  const hpv = new HyParView(
    nodeId(me),
    seededRng(5),
    { ...DEFAULT_HYPARVIEW_CONFIG },
    {
      send: (to, message) => log.sent.push({ to, message }),
      setTimer: (_, timer) => log.timers.push(timer),
      disconnect: (peer) => log.disconnected.push(peer),
      neighbourUp: (peer) => log.up.push(peer),
      neighbourDown: (peer) => log.down.push(peer),
    },
  );
  return { hpv, log };
}

const A = nodeId(1);
const B = nodeId(2);
const C = nodeId(3);
const J = nodeId(9);

describe("HyParView: join and forward-join", () => {
  it("a join is accepted with a high neighbor reply and forwarded with ttl = ARWL", () => {
    const { hpv, log } = machine();
    hpv.join([]);
    hpv.handleMessage(A, { type: "join" }, 0);
    hpv.handleMessage(B, { type: "join" }, 0);
    expect(hpv.activeView).toEqual([A, B]);
    expect(log.sent).toContainEqual({ to: B, message: { type: "neighbor", priority: "high" } });
    expect(log.sent).toContainEqual({
      to: A,
      message: { type: "forward-join", node: NodeId.toBytes(B), ttl: 6 },
    });
  });

  it("forward-join with ttl 0 (or ≤ 1 neighbour) adds the joiner to the active view", () => {
    const { hpv } = machine();
    hpv.handleMessage(A, { type: "neighbor", priority: "high" }, 0);
    hpv.handleMessage(B, { type: "neighbor", priority: "high" }, 0);
    hpv.handleMessage(A, { type: "forward-join", node: NodeId.toBytes(J), ttl: 0 }, 0);
    expect(hpv.activeView).toContain(J);
    const single = machine();
    single.hpv.handleMessage(A, { type: "neighbor", priority: "high" }, 0);
    single.hpv.handleMessage(A, { type: "forward-join", node: NodeId.toBytes(J), ttl: 5 }, 0);
    expect(single.hpv.activeView).toContain(J);
  });

  it("forward-join at ttl = PRWL puts the joiner in the passive view and walks on with ttl − 1", () => {
    const { hpv, log } = machine();
    for (const p of [A, B, C]) hpv.handleMessage(p, { type: "neighbor", priority: "high" }, 0);
    log.sent.length = 0;
    hpv.handleMessage(A, { type: "forward-join", node: NodeId.toBytes(J), ttl: 3 }, 0);
    expect(hpv.passiveView).toContain(J);
    expect(hpv.activeView).not.toContain(J);
    const fwd = log.sent.find((s) => s.message.type === "forward-join");
    expect(fwd?.to).not.toBe(A);
    expect(fwd?.message).toEqual({ type: "forward-join", node: NodeId.toBytes(J), ttl: 2 });
  });
});

describe("HyParView: neighbor requests", () => {
  it("a high-priority request is accepted even with a full active view (evicting one)", () => {
    const { hpv, log } = machine();
    for (let i = 1; i <= 5; i++)
      hpv.handleMessage(nodeId(i), { type: "neighbor", priority: "high" }, 0);
    expect(hpv.activeView).toHaveLength(5);
    hpv.handleMessage(J, { type: "neighbor", priority: "high" }, 0);
    expect(hpv.activeView).toHaveLength(5);
    expect(hpv.activeView).toContain(J);
    const evicted = log.down[0] as NodeId;
    expect(log.sent).toContainEqual({ to: evicted, message: { type: "disconnect", alive: true } });
    expect(hpv.passiveView).toContain(evicted);
  });

  it("a low-priority request to a full active view is refused", () => {
    const { hpv, log } = machine();
    for (let i = 1; i <= 5; i++)
      hpv.handleMessage(nodeId(i), { type: "neighbor", priority: "high" }, 0);
    hpv.handleMessage(J, { type: "neighbor", priority: "low" }, 0);
    expect(hpv.activeView).not.toContain(J);
    expect(log.sent.at(-1)).toEqual({ to: J, message: { type: "disconnect", alive: true } });
  });

  it("a failed neighbour is replaced from the passive view (high priority when alone)", () => {
    const { hpv, log } = machine();
    hpv.handleMessage(A, { type: "neighbor", priority: "high" }, 0);
    hpv.handleMessage(C, { type: "shuffle-reply", nodes: [NodeId.toBytes(B)] }, 0);
    expect(hpv.passiveView).toEqual([B]);
    log.sent.length = 0;
    hpv.peerDisconnected(A, 10);
    expect(log.down).toEqual([A]);
    expect(hpv.passiveView).not.toContain(A);
    expect(log.sent).toEqual([{ to: B, message: { type: "neighbor", priority: "high" } }]);
    hpv.handleMessage(B, { type: "neighbor", priority: "high" }, 20);
    expect(hpv.activeView).toEqual([B]);
  });

  it("an unanswered request times out, the node is dropped and the next one asked", () => {
    const { hpv, log } = machine();
    hpv.handleMessage(C, { type: "neighbor", priority: "high" }, 0);
    hpv.handleMessage(C, { type: "shuffle-reply", nodes: [NodeId.toBytes(A)] }, 0);
    hpv.peerDisconnected(C, 0);
    // Active view empty, A pending.
    expect(log.timers).toContainEqual({ kind: "neighbor-request", peer: A });
    hpv.handleMessage(J, { type: "shuffle-reply", nodes: [NodeId.toBytes(B)] }, 0);
    hpv.timerFired({ kind: "neighbor-request", peer: A }, 500);
    expect(hpv.passiveView).not.toContain(A);
    expect(log.sent.at(-1)).toEqual({ to: B, message: { type: "neighbor", priority: "high" } });
  });

  it("disconnect{alive} keeps the peer in the passive view, disconnect{dead} forgets it", () => {
    const { hpv } = machine();
    hpv.handleMessage(A, { type: "neighbor", priority: "high" }, 0);
    hpv.handleMessage(B, { type: "neighbor", priority: "high" }, 0);
    hpv.handleMessage(A, { type: "disconnect", alive: true }, 0);
    hpv.handleMessage(B, { type: "disconnect", alive: false }, 0);
    expect(hpv.activeView).toEqual([]);
    expect(hpv.passiveView).toContain(A);
    expect(hpv.passiveView).not.toContain(B);
  });
});

describe("HyParView: shuffle", () => {
  it("the shuffle timer sends 3 active + 4 passive nodes with ttl = SRWL and re-arms", () => {
    const { hpv, log } = machine();
    hpv.join([]);
    for (let i = 1; i <= 5; i++)
      hpv.handleMessage(nodeId(i), { type: "neighbor", priority: "high" }, 0);
    hpv.handleMessage(
      A,
      {
        type: "shuffle-reply",
        nodes: [20, 21, 22, 23, 24, 25].map((i) => NodeId.toBytes(nodeId(i))),
      },
      0,
    );
    log.sent.length = 0;
    log.timers.length = 0;
    hpv.timerFired({ kind: "shuffle" }, 60_000);
    const shuffle = log.sent.find((s) => s.message.type === "shuffle");
    expect(shuffle?.message).toMatchObject({ ttl: 6 });
    expect(shuffle?.message.type === "shuffle" ? shuffle.message.nodes : []).toHaveLength(7);
    expect(log.timers).toContainEqual({ kind: "shuffle" });
  });

  it("a shuffle at its walk's end is answered to the origin, and its nodes go to the passive view", () => {
    const { hpv, log } = machine();
    hpv.handleMessage(A, { type: "neighbor", priority: "high" }, 0);
    hpv.handleMessage(A, { type: "shuffle-reply", nodes: [NodeId.toBytes(C)] }, 0);
    const origin = nodeId(30);
    hpv.handleMessage(
      A,
      { type: "shuffle", origin: NodeId.toBytes(origin), nodes: [NodeId.toBytes(J)], ttl: 4 },
      0,
    );
    expect(log.sent.at(-1)).toEqual({
      to: origin,
      message: { type: "shuffle-reply", nodes: [NodeId.toBytes(C)] },
    });
    expect(hpv.passiveView).toEqual(expect.arrayContaining([J, origin]));
  });
});

describe("HyParView: asking known co-topic peers to be neighbours (healer)", () => {
  it("asks with a low-priority neighbor request while it has neighbours, and awaits the answer", () => {
    const { hpv, log } = machine();
    hpv.join([]);
    hpv.handleMessage(A, { type: "neighbor", priority: "high" }, 0);
    log.sent.length = 0;
    hpv.requestNeighbours([B, A], 0);
    expect(log.sent).toEqual([{ to: B, message: { type: "neighbor", priority: "low" } }]);
    expect(log.timers).toContainEqual({ kind: "neighbor-request", peer: B });
    // Asked already (pending): not asked twice.
    hpv.requestNeighbours([B], 10);
    expect(log.sent).toHaveLength(1);
    hpv.handleMessage(B, { type: "neighbor", priority: "low" }, 20);
    expect(hpv.activeView).toEqual([A, B]);
  });

  it("asks with high priority when alone, and never beyond the free active slots", () => {
    const { hpv, log } = machine();
    hpv.join([]);
    const many = [1, 2, 3, 4, 5, 6, 7].map((n) => nodeId(n));
    hpv.requestNeighbours(many, 0);
    expect(log.sent).toHaveLength(DEFAULT_HYPARVIEW_CONFIG.activeViewCapacity);
    expect(
      log.sent.every((s) => s.message.type === "neighbor" && s.message.priority === "high"),
    ).toBe(true);
  });

  it("does not ask a peer that refused it within the shuffle interval", () => {
    const { hpv, log } = machine();
    hpv.join([]);
    hpv.handleMessage(A, { type: "neighbor", priority: "high" }, 0);
    hpv.requestNeighbours([B], 0);
    hpv.handleMessage(B, { type: "disconnect", alive: true }, 10);
    log.sent.length = 0;
    hpv.requestNeighbours([B], 20);
    expect(log.sent).toEqual([]);
    hpv.requestNeighbours([B], 10 + DEFAULT_HYPARVIEW_CONFIG.shuffleIntervalMs);
    expect(log.sent).toEqual([{ to: B, message: { type: "neighbor", priority: "low" } }]);
  });
});
