// Discovery over real libp2p: one bootstrap and six nodes, all Node endpoints talking
// WebSockets on loopback, three topics. Every node must learn exactly its co-topic peers.
import { Topic, transportKind } from "@p2panda-web/core";
import { afterAll, describe, expect, it } from "vitest";
import {
  type ClusterNode,
  runUntilConverged,
  startClusterNode,
  stopCluster,
} from "./libp2p-cluster.ts";

const FAST = { backoff: { initialMs: 0, minIncrementMs: 20, maxIncrementMs: 80, maxMs: 400 } };
const nodes: ClusterNode[] = [];

afterAll(() => stopCluster(nodes));

describe("discovery over libp2p WebSockets", () => {
  it("bootstrap + 6 nodes on 3 topics: each learns all co-topic peers and no other topic", async () => {
    const bootstrap = await startClusterNode([], [], FAST);
    nodes.push(bootstrap);
    const ws = bootstrap.endpoint.addresses().find((a) => transportKind(a) === "websockets");
    expect(ws).toBeDefined();
    const [t1, t2, t3] = [Topic.fromName("a"), Topic.fromName("b"), Topic.fromName("c")];
    const sets = [[t1], [t1, t2], [t2], [t2, t3], [t3], [t3, t1]] as Topic[][];
    const peers: ClusterNode[] = [];
    for (const topics of sets) peers.push(await startClusterNode(topics, [ws as string], FAST));
    nodes.push(...peers);

    await runUntilConverged(nodes, peers, 60_000);

    for (const a of peers) {
      for (const b of nodes) {
        if (a === b) continue;
        for (const t of a.book.nodeTopics(b.endpoint.nodeId)) expect(a.topics).toContain(t);
      }
    }
    expect(peers.every((p) => p.service.metrics.successfulSessions > 0)).toBe(true);
  }, 90_000);
});
