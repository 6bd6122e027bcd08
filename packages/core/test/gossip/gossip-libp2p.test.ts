// Gossip over real libp2p: eight Node endpoints talking WebSockets on loopback, one topic. A
// broadcast reaches everyone; three nodes go away for good (gossip service and endpoint stopped);
// the survivors see their lost neighbours go down, heal, and the next broadcast reaches the rest.
import { hash, type NodeId, Topic } from "@p2panda-web/core";
import type { GossipDelivery, GossipHandle } from "@p2panda-web/core/gossip";
import { filter, firstValueFrom, map, take, timeout } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";
import {
  type GossipNode,
  learnAll,
  learnFirst,
  startGossipNodes,
  stopGossipNode,
  stopGossipNodes,
  untilOverlayReady,
} from "./libp2p-cluster.ts";

const topic = Topic.fromName("gossip-libp2p");
const nodes: GossipNode[] = [];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

afterAll(() => stopGossipNodes(nodes), 20_000);

interface Arrival {
  readonly delivery: GossipDelivery;
  /** Whether the receiver and the deliverer had each other, or at least one the other, as neighbour. */
  readonly link: "mutual" | "one-sided" | "none";
}

const byId = (id: NodeId) => nodes.find((n) => n.id === id);
const isNeighbour = (node: GossipNode | undefined, peer: NodeId) =>
  node?.gossip.neighbours(topic).includes(peer) === true;

/** Publishes `text` from `from` and resolves with what each of `to` received, in order of `to`. */
async function broadcast(
  from: GossipHandle,
  to: readonly (readonly [GossipNode, GossipHandle])[],
  text: string,
): Promise<Arrival[]> {
  const arrivals = to.map(([node, handle]) =>
    firstValueFrom(
      handle.messages$.pipe(
        filter((m) => decoder.decode(m.content) === text),
        // Looked at when delivered: the views may change right after.
        map((delivery): Arrival => {
          const ours = isNeighbour(node, delivery.deliveredBy);
          const theirs = isNeighbour(byId(delivery.deliveredBy), node.id);
          const link = ours && theirs ? "mutual" : ours || theirs ? "one-sided" : "none";
          return { delivery, link };
        }),
        take(1),
        timeout(5_000),
      ),
    ),
  );
  await from.publish(encoder.encode(text));
  return Promise.all(arrivals);
}

/** Checks what a broadcast from `publisher` left at each receiver. */
function expectDelivered(arrivals: readonly Arrival[], text: string, publisher: NodeId): void {
  const content = encoder.encode(text);
  for (const { delivery, link } of arrivals) {
    expect(delivery.content).toEqual(content);
    expect(delivery.id).toEqual(hash(content));
    expect(delivery.topic).toBe(topic);
    // Attributed to the authenticated link it came over: an overlay link between the two (as a
    // rule mutual; one-sided where GossipService's dial race left one, see libp2p-cluster.ts).
    expect(link).not.toBe("none");
    expect(delivery.hops).toBeGreaterThanOrEqual(1);
    if (delivery.deliveredBy === publisher) expect(delivery.hops).toBe(1);
  }
  // Someone got it straight from the publisher, everyone else through a relay.
  expect(arrivals.some((a) => a.delivery.deliveredBy === publisher)).toBe(true);
}

describe("gossip over libp2p WebSockets", () => {
  it("8 nodes: a broadcast reaches all; 3 nodes go away; the next reaches the other 4", async () => {
    nodes.push(...(await startGossipNodes(8, { healIntervalMs: 500 })));
    const ids = nodes.map((n) => n.id);
    // Everyone enters through node 0, as after discovery with a single known co-topic node.
    await learnFirst(nodes, topic);
    const handles: GossipHandle[] = [];
    for (const node of nodes) handles.push(await node.gossip.stream(topic));
    await Promise.all(handles.map((h) => h.joined()));
    // Then everyone learns everyone (as discovery would), so the overlay can heal later.
    await learnAll(nodes, topic);
    // Let the joins that learning everyone set off play out (ready, then 300 ms without changes).
    await untilOverlayReady(nodes, topic, { quietMs: 300, timeoutMs: 10_000 });
    for (const node of nodes) {
      const neighbours = node.gossip.neighbours(topic);
      expect(neighbours.length).toBeGreaterThan(0);
      expect(neighbours.every((id) => ids.includes(id) && id !== node.id)).toBe(true);
    }

    const publisher = 3;
    const own: string[] = [];
    handles[publisher]?.messages$.subscribe((m) => own.push(decoder.decode(m.content)));
    const pairs = nodes.map((n, i) => [n, handles[i] as GossipHandle] as const);
    const first = await broadcast(
      handles[publisher] as GossipHandle,
      pairs.filter((_, i) => i !== publisher),
      "one",
    );
    expect(first).toHaveLength(7);
    expectDelivered(first, "one", ids[publisher] as NodeId);
    expect(own).toEqual([]);

    // Three nodes go away for good (the bootstrap node 0 among them).
    const failed = [0, 5, 6];
    const failedIds = new Set(failed.map((i) => ids[i] as NodeId));
    const survivors = nodes.filter((_, i) => !failed.includes(i));
    const survivorPairs = pairs.filter((_, i) => !failed.includes(i));
    // Listen first, then take the snapshot: every failed node that is a neighbour now must be
    // reported down later (nothing takes a node out of the view unreported).
    const downs = survivors.map(() => new Set<NodeId>());
    for (const [i, s] of survivors.entries()) {
      s.gossip.events$.subscribe((e) => {
        if (e.type === "gossip:neighbour-down" && e.topic === topic) downs[i]?.add(e.node);
      });
    }
    const lost = survivors.map((s) => s.gossip.neighbours(topic).filter((id) => failedIds.has(id)));
    expect(lost.some((l) => l.length > 0)).toBe(true);
    const allDown = survivors.map((s, i) => {
      const want = lost[i] as NodeId[];
      const seen = downs[i] as Set<NodeId>;
      if (want.length === 0) return Promise.resolve();
      return firstValueFrom(
        s.gossip.events$.pipe(
          filter(() => want.every((id) => seen.has(id))),
          take(1),
          timeout(10_000),
        ),
      );
    });
    await Promise.all(failed.map((i) => stopGossipNode(nodes[i] as GossipNode)));
    await Promise.all(allDown);
    for (const [i, seen] of downs.entries()) {
      for (const id of lost[i] as NodeId[]) expect(seen.has(id)).toBe(true);
    }

    // The survivors heal into one overlay without the gone nodes (a walk still in flight may
    // briefly put one back into a view; the failed dial takes it out again), then the next
    // broadcast reaches the other four.
    await untilOverlayReady(survivors, topic, { quietMs: 300, timeoutMs: 10_000 });
    for (const s of survivors) {
      expect(s.gossip.neighbours(topic).some((id) => failedIds.has(id))).toBe(false);
    }
    const second = await broadcast(
      handles[publisher] as GossipHandle,
      survivorPairs.filter(([n]) => n.id !== ids[publisher]),
      "two",
    );
    expect(second).toHaveLength(4);
    expectDelivered(second, "two", ids[publisher] as NodeId);
    for (const { delivery } of second) expect(failedIds.has(delivery.deliveredBy)).toBe(false);
  }, 30_000);
});
