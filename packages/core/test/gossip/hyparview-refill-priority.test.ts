import { describe, expect, it } from "vitest";
import { DEFAULT_HYPARVIEW_CONFIG } from "../../src/gossip/config.ts";
import { HyParView } from "../../src/gossip/hyparview.ts";
import type { TopicMessage } from "../../src/gossip/messages.ts";
import { NodeId } from "../../src/ids/node-id.ts";
import { seededRng } from "../../src/random.ts";
import { nodeId } from "./helpers.ts";

const A = nodeId(1);
const B = nodeId(2);
const PASSIVE = [nodeId(20), nodeId(21), nodeId(22)];

function machine(me = 0) {
  const sent: { to: NodeId; message: TopicMessage }[] = [];
  const hpv = new HyParView(
    nodeId(me),
    seededRng(me + 3),
    { ...DEFAULT_HYPARVIEW_CONFIG },
    {
      send: (to, message) => sent.push({ to, message }),
      setTimer: () => {},
      disconnect: () => {},
      neighbourUp: () => {},
      neighbourDown: () => {},
    },
  );
  return { hpv, sent };
}

/** A node with `neighbours` in its active view and three nodes in its passive view. */
function withNeighbours(...neighbours: NodeId[]) {
  const m = machine();
  for (const n of neighbours) m.hpv.handleMessage(n, { type: "neighbor", priority: "high" }, 0);
  m.hpv.handleMessage(nodeId(30), { type: "shuffle-reply", nodes: PASSIVE.map(NodeId.toBytes) }, 0);
  m.sent.length = 0;
  return m;
}

/** The priorities of the `neighbor` requests sent since the last reset, one per asked node. */
function requested(sent: readonly { to: NodeId; message: TopicMessage }[]) {
  return sent.flatMap((s) =>
    s.message.type === "neighbor" ? [{ to: s.to, priority: s.message.priority }] : [],
  );
}

// Spec §5.2: a node whose active view became empty asks passive nodes with priority High, which
// must be accepted even by a full node; with at least one neighbour left it asks with Low, which a
// full node may refuse. Asking High while not alone would make full nodes evict neighbours for a
// node that is still connected; asking Low while alone could leave it cut off for good.
describe("HyParView: refill requests are High only when the active view is empty", () => {
  it("the last neighbour's link breaks: every passive node asked is asked with High", () => {
    const { hpv, sent } = withNeighbours(A);
    hpv.peerDisconnected(A, 10);
    const asked = requested(sent);
    expect(asked.map((r) => r.to).sort()).toEqual([...PASSIVE].sort());
    expect(asked.every((r) => r.priority === "high")).toBe(true);
  });

  it("one of two neighbours' links breaks: the passive nodes are asked with Low", () => {
    const { hpv, sent } = withNeighbours(A, B);
    hpv.peerDisconnected(A, 10);
    const asked = requested(sent);
    expect(asked).toHaveLength(3);
    expect(asked.every((r) => r.priority === "low")).toBe(true);
  });

  it("the only neighbour says goodbye (disconnect): High; one of two says goodbye: Low", () => {
    const alone = withNeighbours(A);
    alone.hpv.handleMessage(A, { type: "disconnect", alive: true }, 10);
    // A said it is alive, so it is back in the passive view and asked again too.
    expect(new Set(requested(alone.sent).map((r) => r.priority))).toEqual(new Set(["high"]));
    expect(requested(alone.sent).length).toBeGreaterThanOrEqual(3);

    const notAlone = withNeighbours(A, B);
    notAlone.hpv.handleMessage(A, { type: "disconnect", alive: false }, 10);
    expect(requested(notAlone.sent).map((r) => r.priority)).toEqual(["low", "low", "low"]);
  });

  it("an unanswered request is replaced with the same rule: High while alone, Low otherwise", () => {
    const alone = withNeighbours(A);
    alone.hpv.peerDisconnected(A, 10);
    const [first] = requested(alone.sent);
    alone.hpv.handleMessage(nodeId(31), { type: "shuffle-reply", nodes: [NodeId.toBytes(B)] }, 20);
    alone.sent.length = 0;
    alone.hpv.timerFired({ kind: "neighbor-request", peer: first?.to as NodeId }, 510);
    expect(requested(alone.sent)).toEqual([{ to: B, priority: "high" }]);

    const notAlone = withNeighbours(A, nodeId(40));
    notAlone.hpv.peerDisconnected(A, 10);
    const [asked] = requested(notAlone.sent);
    notAlone.hpv.handleMessage(
      nodeId(31),
      { type: "shuffle-reply", nodes: [NodeId.toBytes(B)] },
      20,
    );
    notAlone.sent.length = 0;
    notAlone.hpv.timerFired({ kind: "neighbor-request", peer: asked?.to as NodeId }, 510);
    expect(requested(notAlone.sent)).toEqual([{ to: B, priority: "low" }]);
  });

  it("the periodic refill of a short active view asks with Low while it has a neighbour", () => {
    const { hpv, sent } = withNeighbours(A);
    hpv.timerFired({ kind: "shuffle" }, 60_000);
    const asked = requested(sent);
    expect(asked).toHaveLength(3);
    expect(asked.every((r) => r.priority === "low")).toBe(true);
  });

  it("a lonely node's High request gets it into a full node's active view; a Low one is refused", () => {
    const full = machine(50);
    for (let i = 1; i <= 5; i++)
      full.hpv.handleMessage(nodeId(i + 60), { type: "neighbor", priority: "high" }, 0);
    const lonely = machine(51);
    lonely.hpv.handleMessage(A, { type: "neighbor", priority: "high" }, 0);
    lonely.hpv.handleMessage(B, { type: "shuffle-reply", nodes: [NodeId.toBytes(full.hpv.me)] }, 0);
    lonely.sent.length = 0;
    lonely.hpv.peerDisconnected(A, 10);
    const [request] = requested(lonely.sent);
    expect(request?.to).toBe(full.hpv.me);
    full.hpv.handleMessage(
      lonely.hpv.me,
      { type: "neighbor", priority: request?.priority ?? "low" },
      20,
    );
    expect(full.hpv.activeView).toContain(lonely.hpv.me);
    expect(full.hpv.activeView).toHaveLength(5);

    const other = machine(52);
    full.hpv.handleMessage(other.hpv.me, { type: "neighbor", priority: "low" }, 30);
    expect(full.hpv.activeView).not.toContain(other.hpv.me);
  });
});
