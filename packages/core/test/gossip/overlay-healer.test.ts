import { describe, expect, it } from "vitest";
import { OverlayHealer, type OverlayView } from "../../src/gossip/overlay-healer.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import type { Topic } from "../../src/ids/topic.ts";
import { nodeId } from "./helpers.ts";

const T = "11".repeat(32) as Topic;
const U = "22".repeat(32) as Topic;
const [A, B, C, D] = [1, 2, 3, 4].map((n) => nodeId(n)) as [NodeId, NodeId, NodeId, NodeId];

function view(neighbours: NodeId[], candidates: NodeId[], topic = T, capacity = 5): OverlayView {
  return { topic, neighbours, candidates, capacity };
}

/** The times at which `peer` is asked when every attempt fails, over `untilMs`. */
function askTimes(healer: OverlayHealer, peer: NodeId, untilMs: number): number[] {
  const at: number[] = [];
  let now = 0;
  while (now <= untilMs) {
    const plan = healer.plan([view([], [peer])], now);
    if (plan.actions.some((a) => a.peers.includes(peer))) at.push(now);
    if (plan.wakeAt === undefined) break;
    now = plan.wakeAt;
  }
  return at;
}

describe("OverlayHealer: a known co-topic peer that is not a neighbour", () => {
  it("is asked at once, then after 0.5 s, 1 s, 2 s, … doubling up to 30 s between attempts", () => {
    const times = askTimes(new OverlayHealer(), A, 120_000);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(times[0]).toBe(0);
    expect(gaps.slice(0, 7)).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000]);
    expect(Math.max(...gaps)).toBe(30_000);
  });

  it("starts over once it became a neighbour and was lost again", () => {
    const healer = new OverlayHealer();
    healer.plan([view([], [A])], 0);
    healer.plan([view([], [A])], 500);
    healer.plan([view([], [A])], 1_500);
    healer.neighbourUp(T, A);
    const lost = healer.plan([view([], [A])], 60_000);
    expect(lost.actions).toEqual([{ topic: T, how: "join", peers: [A] }]);
    expect(lost.wakeAt).toBe(60_500);
  });

  it("is joined when the overlay is empty, asked as a neighbour when the overlay has room", () => {
    const healer = new OverlayHealer();
    expect(healer.plan([view([], [A])], 0).actions).toEqual([
      { topic: T, how: "join", peers: [A] },
    ]);
    expect(healer.plan([view([A], [A, B])], 0).actions).toEqual([
      { topic: T, how: "request-neighbours", peers: [B] },
    ]);
  });

  it("is not asked while the overlay is full, nor beyond its free slots", () => {
    const healer = new OverlayHealer();
    const full = healer.plan([view([A, B], [A, B, C], T, 2)], 0);
    expect(full).toEqual({ actions: [], wakeAt: undefined });
    const oneFree = healer.plan([view([A], [A, B, C, D], T, 2)], 0);
    expect(oneFree.actions).toEqual([{ topic: T, how: "request-neighbours", peers: [B] }]);
  });

  it("keeps attempts per topic, and forgets a topic left and peers no longer known", () => {
    const healer = new OverlayHealer();
    healer.plan([view([], [A], T), view([], [A], U)], 0);
    const u = healer.plan([view([], [A], U)], 100);
    expect(u.actions).toEqual([]);
    healer.forget(U);
    expect(healer.plan([view([], [A], U)], 100).actions).toEqual([
      { topic: U, how: "join", peers: [A] },
    ]);
    // A dropped out of T's candidates: its attempts go, and it is new again when it returns.
    healer.plan([view([], [], T)], 200);
    expect(healer.plan([view([], [A], T)], 200).actions).toEqual([
      { topic: T, how: "join", peers: [A] },
    ]);
  });
});
