import { describe, expect, it } from "vitest";
import { RandomWalker } from "../../src/discovery/index.ts";
import type { NodeId } from "../../src/ids/node-id.ts";
import { seededRng } from "../../src/random.ts";
import { nodeId } from "./helpers.ts";

const resultOf = (ids: NodeId[]) => ({
  transportInfos: new Map(ids.map((id) => [id, {}] as const)),
});

describe("random walk explores the graph through session results (explore_full_graph)", () => {
  it("visits all 8 other nodes of a tree reachable only through one bootstrap", () => {
    // 0 knows only 1 (bootstrap); 1 → 2, 3; 2 → 4; 3 → 5; 5 → 6, 7, 8; 7 → 8.
    const ids = Array.from({ length: 9 }, (_, i) => nodeId(i + 1));
    const n = (i: number) => ids[i] as NodeId;
    const graph = new Map<NodeId, NodeId[]>([
      [n(0), []],
      [n(1), [n(2), n(3)]],
      [n(2), [n(4)]],
      [n(3), [n(5)]],
      [n(4), []],
      [n(5), [n(6), n(7), n(8)]],
      [n(6), []],
      [n(7), [n(8)]],
      [n(8), []],
    ]);
    const book = [n(0), n(1)];
    const walker = new RandomWalker(n(0), seededRng(1), { resetProbability: 0 });
    const visited = new Set<NodeId>();
    let previous: ReturnType<typeof resultOf> | undefined;
    for (let step = 0; step < graph.size - 1; step++) {
      const id = walker.nextNode({ previous, allNodeIds: book, bootstrapIds: [n(1)] });
      expect(id).toBeDefined();
      visited.add(id as NodeId);
      previous = resultOf(graph.get(id as NodeId) ?? []);
    }
    expect(visited.size).toBe(graph.size - 1);
    expect(visited.has(n(0))).toBe(false);
  });

  it("starts at a bootstrap node on the first step", () => {
    const all = Array.from({ length: 20 }, (_, i) => nodeId(i + 1));
    for (let seed = 0; seed < 20; seed++) {
      const walker = new RandomWalker(nodeId(1), seededRng(seed));
      expect(walker.nextNode({ allNodeIds: all, bootstrapIds: [nodeId(5), nodeId(6)] })).toMatch(
        new RegExp(`^(${nodeId(5)}|${nodeId(6)})$`),
      );
    }
  });
});

describe("random walk marks nodes as visited (mark_nodes_as_visited)", () => {
  it("never repeats a node until all are visited, then starts over", () => {
    const all = Array.from({ length: 32 }, (_, i) => nodeId(i + 1));
    const me = all[0] as NodeId;
    const walker = new RandomWalker(me, seededRng(1), { resetProbability: 0 });
    const visited = new Set<NodeId>();
    let previous: ReturnType<typeof resultOf> | undefined;
    for (let i = 0; i < all.length - 1; i++) {
      const id = walker.nextNode({ previous, allNodeIds: all, bootstrapIds: [] }) as NodeId;
      expect(visited.has(id)).toBe(false);
      visited.add(id);
      previous = resultOf([]);
    }
    expect(walker.unvisited.length).toBe(0);
    const again = walker.nextNode({ previous, allNodeIds: all, bootstrapIds: [] });
    expect(visited.has(again as NodeId)).toBe(true);
    expect(walker.visited.size).toBe(2); // ourselves + the first node of the new walk
  });

  it("does not add nodes from a result that were already visited", () => {
    const [me, b, c] = [nodeId(1), nodeId(2), nodeId(3)];
    const walker = new RandomWalker(me, seededRng(1), { resetProbability: 0 });
    expect(walker.nextNode({ allNodeIds: [me, b], bootstrapIds: [b] })).toBe(b);
    expect(
      walker.nextNode({ previous: resultOf([b, c, me]), allNodeIds: [], bootstrapIds: [] }),
    ).toBe(c);
    expect([...walker.visited].sort()).toEqual([me, b, c].sort());
  });

  it("starts over with probability resetProbability", () => {
    const all = Array.from({ length: 200 }, (_, i) => nodeId(i + 1));
    const boot = nodeId(200);
    const always = new RandomWalker(nodeId(1), seededRng(2), { resetProbability: 1 });
    always.nextNode({ allNodeIds: all, bootstrapIds: [boot] });
    for (let i = 0; i < 10; i++) {
      expect(
        always.nextNode({ previous: resultOf([]), allNodeIds: all, bootstrapIds: [boot] }),
      ).toBe(boot);
    }
    const rarely = new RandomWalker(nodeId(1), seededRng(2));
    rarely.nextNode({ allNodeIds: all, bootstrapIds: [boot] });
    let resets = 0;
    for (let i = 0; i < 150; i++) {
      rarely.nextNode({ previous: resultOf([]), allNodeIds: all, bootstrapIds: [boot] });
      if (rarely.visited.size === 2) resets++;
    }
    expect(resets).toBeLessThan(15);
  });
});

describe("random walk never yields our own node (never_yield_own_node_info)", () => {
  it("gives up when we are our own only bootstrap node", () => {
    const me = nodeId(1);
    const walker = new RandomWalker(me, seededRng(1));
    expect(walker.nextNode({ allNodeIds: [me], bootstrapIds: [me] })).toBeUndefined();
    expect(walker.nextNode({ allNodeIds: [me, nodeId(2)], bootstrapIds: [me] })).toBeUndefined();
  });

  it("returns nothing for an empty address book", () => {
    const walker = new RandomWalker(nodeId(1), seededRng(1));
    expect(walker.nextNode({ allNodeIds: [], bootstrapIds: [] })).toBeUndefined();
  });

  it("never returns ourselves, even when results list us", () => {
    const me = nodeId(1);
    const all = [me, nodeId(2), nodeId(3), nodeId(4)];
    const walker = new RandomWalker(me, seededRng(5), { resetProbability: 0.3 });
    let previous: ReturnType<typeof resultOf> | undefined;
    for (let i = 0; i < 200; i++) {
      const id = walker.nextNode({ previous, allNodeIds: all, bootstrapIds: [me, nodeId(2)] });
      expect(id).not.toBe(me);
      previous = resultOf([me, nodeId(3)]);
    }
  });

  it("falls back to a random known node when there is no bootstrap", () => {
    const me = nodeId(1);
    const walker = new RandomWalker(me, seededRng(1));
    expect(walker.nextNode({ allNodeIds: [me, nodeId(9)], bootstrapIds: [] })).toBe(nodeId(9));
  });
});

describe("random walk prefers nodes never met (p2panda-web)", () => {
  it("takes a node we never had a session with while one is among its candidates", () => {
    const all = Array.from({ length: 17 }, (_, i) => nodeId(i + 1));
    const [me, boot] = all as [NodeId, NodeId];
    const fresh = all[16] as NodeId;
    // Met: everyone but `fresh`. The walk still goes to it first, on every seed.
    const met = (id: NodeId) => id !== fresh;
    for (let seed = 0; seed < 50; seed++) {
      const walker = new RandomWalker(me, seededRng(seed), { resetProbability: 0 });
      walker.nextNode({ allNodeIds: all, bootstrapIds: [boot], met });
      const next = walker.nextNode({
        previous: resultOf(all),
        allNodeIds: all,
        bootstrapIds: [boot],
        met,
      });
      expect(next).toBe(fresh);
    }
  });

  it("without the predicate (or with every node met) the pick is uniform as upstream's", () => {
    const all = Array.from({ length: 9 }, (_, i) => nodeId(i + 1));
    const [me, boot] = all as [NodeId, NodeId];
    const counts = new Map<NodeId, number>();
    for (let seed = 0; seed < 700; seed++) {
      const walker = new RandomWalker(me, seededRng(seed), { resetProbability: 0 });
      walker.nextNode({ allNodeIds: all, bootstrapIds: [boot], met: () => true });
      const next = walker.nextNode({
        previous: resultOf(all),
        allNodeIds: all,
        bootstrapIds: [boot],
        met: () => true,
      }) as NodeId;
      counts.set(next, (counts.get(next) ?? 0) + 1);
    }
    // 7 candidates (not us, not the bootstrap just visited), 100 picks each on average.
    expect(counts.size).toBe(7);
    for (const n of counts.values()) expect(n).toBeGreaterThan(60);
  });
});
